//! Certificates for tests that speak TLS, as the deployment's own authority issues them: a
//! certificate authority of the test process's own and one server certificate it signs for
//! `127.0.0.1` and `localhost`, written to files the way the tiers read them.

use std::path::PathBuf;
use std::sync::OnceLock;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PublicKeyData,
};

#[derive(Debug)]
pub struct TestCertificates {
    /// The authority's certificate (PEM): what a client trusts.
    pub ca_file: PathBuf,
    pub ca_pem: Vec<u8>,
    /// The server's certificate (PEM) and private key (PKCS#8 PEM).
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// The server key's SubjectPublicKeyInfo (DER), which a browser can be told to accept.
    pub server_spki_der: Vec<u8>,
}

/// The process's certificates, made on first use in a directory of their own.
pub fn certificates() -> &'static TestCertificates {
    static CERTIFICATES: OnceLock<TestCertificates> = OnceLock::new();
    CERTIFICATES.get_or_init(issue)
}

fn issue() -> TestCertificates {
    let mut authority = CertificateParams::new(Vec::<String>::new()).expect("authority params");
    authority
        .distinguished_name
        .push(DnType::CommonName, "Bank test certificate authority");
    authority.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    authority.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let authority =
        CertifiedIssuer::self_signed(authority, KeyPair::generate().expect("authority key"))
            .expect("self-sign the authority");

    let mut server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("server params");
    server
        .distinguished_name
        .push(DnType::CommonName, "bank test server");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = KeyPair::generate().expect("server key");
    let server_cert = server
        .signed_by(&server_key, &authority)
        .expect("sign the server certificate");

    let dir = std::env::temp_dir().join(format!("bank-test-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the certificates' directory");
    let ca_file = dir.join("ca.crt");
    let cert_file = dir.join("server.crt");
    let key_file = dir.join("server.key");
    std::fs::write(&ca_file, authority.pem()).expect("write the authority");
    std::fs::write(&cert_file, server_cert.pem()).expect("write the certificate");
    std::fs::write(&key_file, server_key.serialize_pem()).expect("write the key");
    TestCertificates {
        ca_pem: authority.pem().into_bytes(),
        ca_file,
        cert_file,
        key_file,
        server_spki_der: server_key.subject_public_key_info(),
    }
}
