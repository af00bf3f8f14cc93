//! The reference page: the OpenAPI document rendered as one HTML page, server-side, with a curl
//! example for every operation. No script, no stylesheet or font from elsewhere.

use std::fmt::Write;

use serde_json::Value;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Paragraphs, with `code` and **bold** spans: the little Markdown the descriptions use.
fn prose(text: &str) -> String {
    let mut html = String::new();
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        let mut out = String::new();
        let mut code = false;
        let mut bold = false;
        let escaped = escape(paragraph.trim());
        let mut rest = escaped.as_str();
        while let Some(c) = rest.chars().next() {
            if rest.starts_with("**") {
                out.push_str(if bold { "</strong>" } else { "<strong>" });
                bold = !bold;
                rest = &rest[2..];
                continue;
            }
            if c == '`' {
                out.push_str(if code { "</code>" } else { "<code>" });
                code = !code;
            } else {
                out.push(c);
            }
            rest = &rest[c.len_utf8()..];
        }
        let _ = write!(html, "<p>{out}</p>");
    }
    html
}

fn ref_name(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
}

/// A schema's type in a few words, with a link for named schemas.
fn type_of(schema: &Value) -> String {
    if let Some(name) = ref_name(schema) {
        return format!("<a href=\"#schema-{0}\">{0}</a>", escape(name));
    }
    if let Some(options) = schema
        .get("oneOf")
        .or(schema.get("anyOf"))
        .and_then(Value::as_array)
    {
        return options.iter().map(type_of).collect::<Vec<_>>().join(" or ");
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values
            .iter()
            .map(|v| {
                format!(
                    "<code>{}</code>",
                    escape(v.as_str().unwrap_or(&v.to_string()))
                )
            })
            .collect();
        return format!("one of {}", values.join(", "));
    }
    let kind = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".into(),
    };
    if kind.starts_with("array")
        && let Some(items) = schema.get("items")
    {
        return format!("array of {}", type_of(items));
    }
    match schema.get("format").and_then(Value::as_str) {
        Some(format) => format!("{kind} ({format})"),
        None => kind,
    }
}

fn properties_table(schema: &Value) -> String {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return String::new();
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut html = String::from(
        "<table><thead><tr><th>field</th><th>type</th><th>description</th></tr></thead><tbody>",
    );
    for (name, property) in properties {
        let description = property
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("");
        let _ = write!(
            html,
            "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
            escape(name),
            if required.contains(&name.as_str()) {
                " <small>required</small>"
            } else {
                ""
            },
            type_of(property),
            escape(description)
        );
    }
    html.push_str("</tbody></table>");
    html
}

/// An example value for a schema: its own example, else one made from its properties or type.
fn example(doc: &Value, schema: &Value, depth: usize) -> Value {
    if let Some(value) = schema.get("example") {
        return value.clone();
    }
    if let Some(name) = ref_name(schema) {
        return match doc["components"]["schemas"].get(name) {
            Some(target) if depth < 4 => example(doc, target, depth + 1),
            _ => Value::Null,
        };
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let object = properties
            .iter()
            .filter(|(name, property)| {
                required.contains(&name.as_str()) || property.get("example").is_some()
            })
            .map(|(name, property)| (name.clone(), example(doc, property, depth + 1)))
            .collect();
        return Value::Object(object);
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds.first().and_then(Value::as_str).unwrap_or(""),
        other => other.as_str().unwrap_or(""),
    };
    match kind {
        "array" => Value::Array(vec![example(doc, &schema["items"], depth + 1)]),
        "integer" | "number" => {
            Value::from(schema.get("minimum").and_then(Value::as_i64).unwrap_or(0))
        }
        "boolean" => Value::Bool(false),
        "string" => Value::from(""),
        _ => Value::Null,
    }
}

fn curl(doc: &Value, method: &str, path: &str, operation: &Value) -> String {
    let mut line = format!(
        "curl -sS -X {} \"$BANK_API{path}\" \\\n  -H \"X-Api-Key: $BANK_API_KEY\"",
        method.to_uppercase()
    );
    let idempotent = operation
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"));
    if idempotent {
        line.push_str(" \\\n  -H \"Idempotency-Key: $(cat /proc/sys/kernel/random/uuid)\"");
    }
    let body = &operation["requestBody"]["content"]["application/json"]["schema"];
    if !body.is_null() {
        let example = serde_json::to_string(&example(doc, body, 0)).unwrap_or_default();
        let _ = write!(
            line,
            " \\\n  -H 'Content-Type: application/json' -d '{}'",
            example.replace('\'', "'\\''")
        );
    }
    line
}

/// An operation's method, path and description, as listed under its tag.
type Operation<'a> = (String, String, &'a Value);

pub fn render(doc: &Value) -> String {
    let title = doc["info"]["title"].as_str().unwrap_or("API");
    let mut by_tag: Vec<(String, Vec<Operation<'_>>)> = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method, operation) in item {
                let tag = operation["tags"][0].as_str().unwrap_or("other").to_owned();
                let entry = match by_tag.iter_mut().find(|(t, _)| *t == tag) {
                    Some(entry) => entry,
                    None => {
                        by_tag.push((tag, Vec::new()));
                        by_tag.last_mut().expect("just pushed")
                    }
                };
                entry.1.push((method.clone(), path.clone(), operation));
            }
        }
    }
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}</style></head>\
         <body><nav><h2>{0}</h2><p><a href=\"/v1/openapi.json\">openapi.json</a></p>",
        escape(title)
    );
    for (tag, operations) in &by_tag {
        let _ = write!(html, "<h3>{}</h3><ul>", escape(tag));
        for (method, path, operation) in operations {
            let _ = write!(
                html,
                "<li><a href=\"#{}\"><span class=\"m {1}\">{1}</span> {2}</a></li>",
                anchor(method, path),
                escape(method),
                escape(operation["summary"].as_str().unwrap_or(path))
            );
        }
        html.push_str("</ul>");
    }
    html.push_str("<h3>schemas</h3></nav><main>");
    let _ = write!(
        html,
        "<h1>{}</h1>{}",
        escape(title),
        prose(doc["info"]["description"].as_str().unwrap_or(""))
    );
    for (tag, operations) in &by_tag {
        let _ = write!(html, "<h2>{}</h2>", escape(tag));
        for (method, path, operation) in operations {
            let _ = write!(
                html,
                "<section id=\"{}\"><h3><span class=\"m {1}\">{1}</span> <code>{2}</code></h3><h4>{3}</h4>{4}",
                anchor(method, path),
                escape(method),
                escape(path),
                escape(operation["summary"].as_str().unwrap_or("")),
                prose(operation["description"].as_str().unwrap_or(""))
            );
            if let Some(parameters) = operation["parameters"].as_array().filter(|p| !p.is_empty()) {
                html.push_str("<table><thead><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr></thead><tbody>");
                for parameter in parameters {
                    let _ = write!(
                        html,
                        "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        escape(parameter["name"].as_str().unwrap_or("")),
                        if parameter["required"] == true {
                            " <small>required</small>"
                        } else {
                            ""
                        },
                        escape(parameter["in"].as_str().unwrap_or("")),
                        type_of(&parameter["schema"]),
                        escape(parameter["description"].as_str().unwrap_or(""))
                    );
                }
                html.push_str("</tbody></table>");
            }
            if let Some(body) =
                operation["requestBody"]["content"]["application/json"]["schema"].as_object()
            {
                let _ = write!(
                    html,
                    "<p>Body: {}</p>",
                    type_of(&Value::Object(body.clone()))
                );
            }
            html.push_str("<p>Answers:</p><ul class=\"answers\">");
            if let Some(responses) = operation["responses"].as_object() {
                for (status, response) in responses {
                    let schema = response["content"]
                        .as_object()
                        .and_then(|c| c.values().next())
                        .map(|c| type_of(&c["schema"]))
                        .unwrap_or_default();
                    let _ = write!(
                        html,
                        "<li><b>{}</b> {} {}</li>",
                        escape(status),
                        escape(response["description"].as_str().unwrap_or("")),
                        schema
                    );
                }
            }
            let _ = write!(
                html,
                "</ul><pre>{}</pre></section>",
                escape(&curl(doc, method, path, operation))
            );
        }
    }
    html.push_str("<h2>schemas</h2>");
    if let Some(schemas) = doc["components"]["schemas"].as_object() {
        for (name, schema) in schemas {
            let _ = write!(
                html,
                "<section id=\"schema-{0}\"><h3>{0}</h3>{1}{2}</section>",
                escape(name),
                prose(schema["description"].as_str().unwrap_or("")),
                if schema.get("properties").is_some() {
                    properties_table(schema)
                } else {
                    format!("<p>{}</p>", type_of(schema))
                }
            );
        }
    }
    html.push_str("</main></body></html>");
    html
}

fn anchor(method: &str, path: &str) -> String {
    let mut id = format!("op-{method}");
    for c in path.chars() {
        id.push(if c.is_ascii_alphanumeric() { c } else { '-' });
    }
    id
}

const STYLE: &str = "body{margin:0;font:15px/1.5 system-ui,sans-serif;color:#1d2430;display:flex}\
nav{width:19rem;flex:none;height:100vh;overflow:auto;position:sticky;top:0;background:#f3f5f8;padding:0 1rem;font-size:13px}\
nav ul{list-style:none;padding:0;margin:0}nav a{color:#1d2430;text-decoration:none}\
main{max-width:60rem;padding:1rem 2rem}section{border-top:1px solid #dde2ea;padding:.5rem 0}\
code,pre{font-family:ui-monospace,monospace;font-size:13px}pre{background:#f3f5f8;padding:.75rem;overflow:auto}\
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #dde2ea;padding:.2rem .5rem;text-align:left;vertical-align:top}\
.m{display:inline-block;min-width:3.5rem;font:bold 12px ui-monospace,monospace;text-transform:uppercase}\
.get{color:#1b6e3a}.post{color:#1f4fa3}.patch,.put{color:#8a5a00}.delete{color:#a32222}\
ul.answers{font-size:13px}small{color:#6b7380}";
