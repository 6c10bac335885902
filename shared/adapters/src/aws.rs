//! The AWS SDK's configuration: one HTTPS client on rustls + ring, trusting the
//! Amazon Trust Services roots only, and the function's region and credentials.

pub use aws_config::SdkConfig;
use aws_config::environment::{EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider};
use aws_config::{BehaviorVersion, ConfigLoader};
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};

/// The roots AWS service endpoints chain to: the five Amazon Trust Services recommends
/// for custom trust stores (<https://www.amazontrust.com/repository/>: Amazon Root CA
/// 1–4 and the Starfield root that cross-signs them), copied unchanged from Mozilla's
/// store.
const AMAZON_TRUST_SERVICES_PEM: &str = include_str!("amazon-trust-services.pem");

/// The AWS SDK's standard configuration loader (`AWS_ENDPOINT_URL`, region,
/// credentials) with its HTTPS client on rustls + ring, the tree's one crypto library,
/// trusting only the Amazon Trust Services roots: the SDK talks to AWS endpoints only,
/// and each trusted root is parsed whenever a client's connector is built. (The SDK's
/// default reads and parses the platform's whole store at every cold start, about
/// 5 ms on Debian's layout; Mozilla's ~150 roots compiled in still cost 2 ms.)
/// Everything that builds AWS clients starts here.
pub fn aws_config_loader() -> ConfigLoader {
    let roots = TrustStore::empty().with_native_roots(false).with_pem_certificate(AMAZON_TRUST_SERVICES_PEM.as_bytes());
    let tls = TlsContext::builder().with_trust_store(roots).build().expect("a trust store without native roots always builds");
    let https = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).tls_context(tls).build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(https)
}

/// The SDK configuration a function runs with: `AWS_ENDPOINT_URL`, and the region and
/// credentials from `AWS_REGION` and `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
/// `AWS_SESSION_TOKEN`, where Lambda puts the function role's. Naming the providers
/// skips the SDK's default chains, whose IMDS, ECS and web-identity clients would
/// otherwise be built at every cold start. (Operator tools keep the default chains.)
pub async fn function_sdk_config() -> anyhow::Result<SdkConfig> {
    let sdk = aws_config_loader()
        .region(EnvironmentVariableRegionProvider::new())
        .credentials_provider(EnvironmentVariableCredentialsProvider::new())
        .load()
        .await;
    anyhow::ensure!(sdk.region().is_some(), "AWS_REGION is not set");
    Ok(sdk)
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    #[test]
    fn the_sdk_trusts_the_five_amazon_trust_services_roots_as_mozilla_ships_them() {
        let pem = super::AMAZON_TRUST_SERVICES_PEM.as_bytes();
        let roots: Vec<CertificateDer> = CertificateDer::pem_slice_iter(pem).collect::<Result<_, _>>().expect("valid PEM");
        assert_eq!(roots.len(), 5);
        let mozilla = webpki_root_certs::TLS_SERVER_ROOT_CERTS;
        assert!(
            roots.iter().all(|root| mozilla.iter().any(|m| m.as_ref() == root.as_ref())),
            "every root is one of Mozilla's, byte for byte"
        );
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ] {
            let found = roots.iter().any(|root| root.as_ref().windows(name.len()).any(|w| w == name.as_bytes()));
            assert!(found, "{name} is missing");
        }
    }
}
