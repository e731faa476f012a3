//! The docs link to tests by name: every such link must name a test that exists in the file
//! it points to (the test suite then runs it). Catches renames that leave the docs stale.

use std::fs;
use std::path::Path;

/// Every `` [`name`](../tests/file.rs) `` link in `doc`.
fn test_links(doc: &str) -> Vec<(String, String)> {
    let mut links = Vec::new();
    let mut rest = doc;
    while let Some(open) = rest.find("[`") {
        rest = &rest[open + 2..];
        let Some(close) = rest.find("`](") else { break };
        let name = &rest[..close];
        let target = &rest[close + 3..];
        let Some(end) = target.find(')') else { break };
        if let Some(file) = target[..end].strip_prefix("../tests/") {
            links.push((name.to_owned(), file.to_owned()));
        }
    }
    links
}

#[test]
fn every_test_named_in_the_docs_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for doc in ["docs/comparison.md"] {
        let text = fs::read_to_string(root.join(doc)).unwrap();
        let links = test_links(&text);
        assert!(!links.is_empty(), "{doc} links no test");
        for (name, file) in links {
            let source = fs::read_to_string(root.join("tests").join(&file))
                .unwrap_or_else(|e| panic!("{doc} links tests/{file}: {e}"));
            // `fn name(` : a test takes no argument, a proptest property takes its inputs.
            let defined = source.contains(&format!("fn {name}("));
            assert!(
                defined,
                "{doc} names `{name}`, which tests/{file} does not define"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} links checked");
}
