//! `cosign-verify --key KEY.pub [--user U --password P] [--http] IMAGE`: verifies the
//! cosign signatures of IMAGE (`host/repository:tag` or `@digest`) with sigstore-rs,
//! as `cosign verify --key` does. Prints each verified payload (JSON, one per line)
//! and exits 0 when at least one signature verifies with the key; exits 1 with the
//! reason otherwise, 2 on bad usage.

use sigstore::cosign::verification_constraint::{PublicKeyVerifier, VerificationConstraintVec};
use sigstore::cosign::{ClientBuilder, CosignCapabilities};
use sigstore::registry::{Auth, ClientConfig, ClientProtocol, OciReference};

fn usage(why: &str) -> ! {
    eprintln!("cosign-verify: {why}\nusage: cosign-verify --key KEY.pub [--user U --password P] [--http] IMAGE");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (mut key, mut user, mut password, mut http, mut image) = (None, None, None, false, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--key" => key = args.next(),
            "--user" => user = args.next(),
            "--password" => password = args.next(),
            "--http" => http = true,
            _ if image.is_none() && !a.starts_with("--") => image = Some(a),
            other => usage(&format!("unexpected argument {other:?}")),
        }
    }
    let key = std::fs::read(key.unwrap_or_else(|| usage("--key is required")))
        .unwrap_or_else(|e| usage(&format!("cannot read the key: {e}")));
    let image: OciReference = image
        .unwrap_or_else(|| usage("IMAGE is required"))
        .parse()
        .unwrap_or_else(|e| usage(&format!("not an image reference: {e}")));
    let auth = match (user, password) {
        (Some(u), Some(p)) => Auth::Basic(u, p),
        _ => Auth::Anonymous,
    };
    let config = ClientConfig {
        protocol: if http { ClientProtocol::Http } else { ClientProtocol::Https },
        ..ClientConfig::default()
    };
    let mut client = ClientBuilder::default().with_oci_client_config(config).build().unwrap_or_else(|e| {
        eprintln!("cosign-verify: {e}");
        std::process::exit(1)
    });
    let verifier = PublicKeyVerifier::try_from(&key).unwrap_or_else(|e| usage(&format!("not a public key: {e}")));
    let layers = match client.trusted_signature_layers(&auth, &image).await {
        Ok(layers) => layers,
        Err(e) => {
            eprintln!("cosign-verify: no signatures read for {image}: {e}");
            std::process::exit(1)
        }
    };
    let constraints: VerificationConstraintVec = vec![Box::new(verifier)];
    if let Err(e) = sigstore::cosign::verify_constraints(&layers, constraints.iter()) {
        eprintln!("cosign-verify: no signature of {image} verifies with the key: {e:?}");
        std::process::exit(1)
    }
    for layer in &layers {
        println!("{}", serde_json::to_string(&layer.simple_signing).unwrap_or_default());
    }
}
