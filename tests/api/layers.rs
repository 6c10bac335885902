//! The layers of ARCHITECTURE.md, checked on the manifests: `domain` ← `adapters` ←
//! `app` ← `web` ← `functions/*`. Cargo already refuses a cycle between crates; these
//! tests refuse an edge that skips upward, and HTTP below the edge.

use std::collections::BTreeSet;
use std::path::Path;

const OURS: [&str; 4] = ["domain", "adapters", "app", "web"];
/// The web framework and Lambda: only `web` and `functions/*` may know them.
const HTTP_EDGE: [&str; 7] = ["axum", "http", "tower", "tower-http", "utoipa-axum", "lambda_http", "lambda_runtime"];

/// The names under `[dependencies]` of a crate's manifest.
fn dependencies(crate_dir: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(crate_dir).join("Cargo.toml");
    let manifest = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let section = manifest.split("\n[").find(|s| s.starts_with("dependencies]")).expect("a [dependencies] section");
    section
        .lines()
        .skip(1)
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split(['=', '.']).next())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

fn ours(deps: &BTreeSet<String>) -> Vec<&'static str> {
    OURS.into_iter().filter(|name| deps.contains(*name)).collect()
}

fn http_edge(deps: &BTreeSet<String>) -> Vec<&'static str> {
    HTTP_EDGE.into_iter().filter(|name| deps.contains(*name)).collect()
}

#[test]
fn each_layer_depends_only_on_the_layers_below_it() {
    let below = [
        ("shared/domain", vec![]),
        ("shared/adapters", vec!["domain"]),
        ("shared/app", vec!["domain", "adapters"]),
        ("shared/web", vec!["domain", "adapters", "app"]),
    ];
    for (dir, allowed) in below {
        let deps = dependencies(dir);
        let found = ours(&deps);
        assert!(found.iter().all(|name| allowed.contains(name)), "{dir} depends on {found:?}; it may use only {allowed:?}");
    }
}

#[test]
fn nothing_below_web_knows_http_or_lambda() {
    for dir in ["shared/domain", "shared/adapters", "shared/app"] {
        let found = http_edge(&dependencies(dir));
        assert!(found.is_empty(), "{dir} depends on {found:?}: statuses and routing belong to web");
    }
    let domain = dependencies("shared/domain");
    for io in ["tokio", "reqwest", "aws-config", "aws-sdk-dynamodb", "uuid"] {
        assert!(!domain.contains(io), "the domain depends on {io}: it does no IO and makes no ids");
    }
}

#[test]
fn the_manifest_reader_sees_the_dependencies_it_must_refuse() {
    // The rules above are only as good as this reader: web does use the HTTP edge.
    let web = dependencies("shared/web");
    assert_eq!(ours(&web), ["domain", "adapters", "app"]);
    assert!(http_edge(&web).contains(&"axum"));
}
