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
fn only_the_adapters_speak_to_aws_stripe_and_the_network() {
    let app = dependencies("shared/app");
    let vendors = ["aws-config", "aws-sdk-dynamodb", "aws-sdk-sesv2", "aws-sdk-sqs", "async-stripe-shared", "hmac", "reqwest", "oauth2"];
    let found: Vec<&str> = vendors.into_iter().filter(|name| app.contains(*name)).collect();
    assert!(found.is_empty(), "the use cases depend on {found:?}: talking to the outside belongs to the adapters");
    let adapters = dependencies("shared/adapters");
    assert!(
        ["aws-sdk-dynamodb", "async-stripe-shared", "reqwest"].iter().all(|name| adapters.contains(*name)),
        "the reader sees the adapters' SDKs"
    );
}

#[test]
fn the_manifest_reader_sees_the_dependencies_it_must_refuse() {
    // The rules above are only as good as this reader: web does use the HTTP edge.
    let web = dependencies("shared/web");
    assert_eq!(ours(&web), ["domain", "adapters", "app"]);
    assert!(http_edge(&web).contains(&"axum"));
}

/// Which top-level modules of a crate each module names (`crate::<module>`), from the
/// source: a file's module is its first path component under `src/`.
fn module_imports(crate_dir: &str) -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(crate_dir).join("src");
    let mut imports = std::collections::BTreeMap::<String, BTreeSet<String>>::new();
    let mut pending = vec![src.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("a source folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&src).expect("under src");
            let first = relative.components().next().expect("a component").as_os_str().to_string_lossy();
            let module = first.trim_end_matches(".rs").to_owned();
            let text = std::fs::read_to_string(&path).expect("a source file");
            let named: Vec<String> = text
                .split("crate::")
                .skip(1)
                .filter_map(|rest| {
                    let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    (!name.is_empty() && name != module).then_some(name)
                })
                .collect();
            imports.entry(module).or_default().extend(named);
        }
    }
    imports
}

/// A module that reaches itself through the imports, if any.
fn circle(imports: &std::collections::BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        imports: &std::collections::BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| m == module) {
            return Some(path[start..].to_vec());
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_owned());
        for next in imports.get(module).into_iter().flatten() {
            if let Some(found) = visit(next, imports, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(module.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    imports.keys().find_map(|module| visit(module, imports, &mut Vec::new(), &mut done))
}

#[test]
fn no_modules_of_a_layer_import_each_other_in_a_circle() {
    for dir in ["shared/domain", "shared/adapters", "shared/app", "shared/web"] {
        let imports = module_imports(dir);
        assert!(imports.len() > 3, "{dir}: the reader found {} modules", imports.len());
        assert_eq!(circle(&imports), None, "{dir} has an import circle");
    }
    // The check finds a circle when there is one: the use cases with an edge back from
    // orders to a product.
    let mut imports = module_imports("shared/app");
    assert!(imports["fulfilment"].contains("petitions"), "the reader sees fulfilment's imports");
    imports.get_mut("orders").expect("orders").insert("fulfilment".to_owned());
    assert!(circle(&imports).is_some());
}
