// Small enhancements; every page works without them.
// A form being submitted cannot be sent again by a second click. (The idempotency key already
// makes a second send harmless; this only saves the customer a confusing wait.)
document.addEventListener("submit", (event) => {
  const form = event.target;
  // Only forms that change something; a GET form (filters, downloads) may be sent again.
  if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") {
    return;
  }
  if (form.dataset.sent === "true") {
    event.preventDefault();
    return;
  }
  form.dataset.sent = "true";
  for (const button of form.querySelectorAll("button[type=submit]")) {
    button.setAttribute("aria-disabled", "true");
  }
});

// Coming back to a page (the back button) makes its forms usable again.
window.addEventListener("pageshow", () => {
  for (const form of document.forms) {
    delete form.dataset.sent;
  }
});
