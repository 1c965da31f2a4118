//! TLS settings for `ldaps://` and StartTLS: rustls with ring.

use std::path::Path;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::config::ConfigError;

/// A client configuration trusting only the CA certificates of a PEM file (an académie's
/// own CA, a test CA).
pub(crate) fn with_ca_file(path: &Path) -> Result<Arc<ClientConfig>, ConfigError> {
    let invalid = |detail: String| {
        ConfigError::Invalid(format!(
            "tls_ca_file {}: {detail}; give a PEM file of CA certificates",
            path.display()
        ))
    };
    let mut roots = rustls::RootCertStore::empty();
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| invalid(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(e.to_string()))?;
    if certificates.is_empty() {
        return Err(invalid("no certificate found".into()));
    }
    for certificate in certificates {
        roots
            .add(certificate)
            .map_err(|e| invalid(format!("unusable certificate: {e}")))?;
    }
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Arc::new(config))
}

/// ldap3 builds its default configuration (the system's CA store) with the process-wide
/// crypto provider; install ring's unless the program chose one, so that it never panics
/// when several providers are compiled in.
pub(crate) fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine: a provider is then in place.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_missing_or_empty_ca_files() {
        let err = with_ca_file(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(err.to_string().contains("tls_ca_file"), "{err}");
        let dir = std::env::temp_dir().join(format!("cartable-ldap-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = with_ca_file(&empty).unwrap_err();
        assert!(err.to_string().contains("no certificate"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
