//! HTTPS on the main listener (`TOKENER_TLS_CERT_FILE`, `TOKENER_TLS_KEY_FILE`): rustls, TLS
//! 1.2 and 1.3 only, the certificate reloaded from its files on `SIGHUP`. A reload changes the
//! certificate new handshakes get; open connections keep theirs and are not dropped.

use anyhow::Context;
use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The certificate and key files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Hands every handshake the certificate loaded last.
#[derive(Debug)]
struct Reloadable(ArcSwap<CertifiedKey>);

impl ResolvesServerCert for Reloadable {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load_full())
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificate chain and private key in the PEM files, checked to belong together.
fn load(files: &TlsFiles) -> anyhow::Result<CertifiedKey> {
    let chain = read_chain(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        anyhow::anyhow!(
            "TOKENER_TLS_KEY_FILE: no PEM private key in {}: {e}",
            files.key.display()
        )
    })?;
    let certified = CertifiedKey::from_der(chain, key, &provider())
        .context("TOKENER_TLS_CERT_FILE and TOKENER_TLS_KEY_FILE do not hold a usable certificate and its key")?;
    Ok(certified)
}

fn read_chain(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            anyhow::anyhow!("TOKENER_TLS_CERT_FILE: cannot read {}: {e}", path.display())
        })?;
    if chain.is_empty() {
        anyhow::bail!(
            "TOKENER_TLS_CERT_FILE: no certificate in {}",
            path.display()
        );
    }
    Ok(chain)
}

/// The server configuration of the listener, and a task reloading the certificate on SIGHUP
/// (a file that does not load keeps the certificate in use, and says why in the log).
pub fn server_config(files: &TlsFiles) -> anyhow::Result<rustls::ServerConfig> {
    let resolver = Arc::new(Reloadable(ArcSwap::from_pointee(load(files)?)));
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS configuration")?
        .with_no_client_auth()
        .with_cert_resolver(resolver.clone());
    let files = files.clone();
    tokio::spawn(async move {
        let Ok(mut hangups) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            tracing::warn!("cannot listen for SIGHUP: the TLS certificate will not be reloaded");
            return;
        };
        while hangups.recv().await.is_some() {
            match load(&files) {
                Ok(certified) => {
                    resolver.0.store(Arc::new(certified));
                    tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded");
                }
                Err(error) => {
                    tracing::error!(error = %format!("{error:#}"), "TLS certificate not reloaded; the previous one stays in use")
                }
            }
        }
    });
    let mut config = config;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
