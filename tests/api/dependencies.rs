//! Rules about the dependency tree that the code relies on (ARCHITECTURE.md).

/// Every TLS and JWT user runs on ring; aws-lc creeping back (a default feature of the
/// AWS SDK, rustls or async-stripe) would add megabytes to every binary and a second
/// rustls provider.
#[test]
fn ring_is_the_only_crypto_library_in_the_lock_file() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).expect("Cargo.lock");
    let packages: Vec<&str> = lock.lines().filter_map(|line| line.strip_prefix("name = \"")?.strip_suffix('"')).collect();
    assert!(packages.contains(&"ring"), "ring is not in Cargo.lock");
    let aws_lc: Vec<&&str> = packages.iter().filter(|name| name.starts_with("aws-lc")).collect();
    assert!(aws_lc.is_empty(), "aws-lc is back in Cargo.lock: {aws_lc:?}");
}
