//! Every key of every built-in algorithm's config has a doc line, and `docs/config.md` (the
//! generated reference) is current.

use rl_core::algorithm::config::check_key_docs;
use rl_core::algorithm::config::reference::REGENERATE;
use rl_core::algorithm::{
    config_key_docs, config_reference, default_config, registered_algorithms,
};

#[test]
fn every_serialized_key_of_every_builtin_has_a_doc_line() {
    rl_algos::register_builtins();
    let names = registered_algorithms();
    assert!(names.contains(&"PPO".to_string()), "{names:?}");
    for name in names {
        let docs = config_key_docs(&name).unwrap();
        if let Err(e) = check_key_docs(&docs, &default_config(&name).unwrap()) {
            panic!("{name}'s config: {e}");
        }
    }
}

#[test]
fn docs_config_md_is_current() {
    rl_algos::register_builtins();
    let generated = config_reference().unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/config.md");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        generated == committed,
        "docs/config.md is not what the config structs' doc comments generate; regenerate it from the workspace root with `{REGENERATE}`"
    );
}
