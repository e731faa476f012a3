//! `docs/cluster.md` names the tests that show each failure case as `` `file::test` ``: every
//! such name must be a test of that file, so that a rename cannot leave the page stale.

use std::fs;
use std::path::Path;

#[test]
fn every_test_named_in_docs_cluster_exists() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = fs::read_to_string(crate_dir.join("../docs/cluster.md")).unwrap();
    let mut checked = 0;
    for file in ["lease_real_etcd", "lease_keeper", "online_users_example"] {
        let source = fs::read_to_string(crate_dir.join("tests").join(format!("{file}.rs")))
            .unwrap_or_else(|e| panic!("docs/cluster.md names tests/{file}.rs: {e}"));
        for mention in doc.split(&format!("`{file}::")).skip(1) {
            let name = mention.split('`').next().unwrap();
            assert!(
                source.contains(&format!("fn {name}(")),
                "docs/cluster.md names `{file}::{name}`, which tests/{file}.rs does not define"
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} names checked");
}
