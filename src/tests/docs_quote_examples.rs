//! The walkthroughs in `docs/` quote their examples: every ```` ```rust ```` block of a doc is
//! made of runs of lines of its example (`// …` separates runs; indentation and blank lines
//! aside), so the code a doc shows compiles (`cargo test` builds the examples). A doc's
//! other blocks are `text`, `sh`, …
//!
//! A new walkthrough adds its row to [`WALKTHROUGHS`].

/// (doc, the example it quotes), from the workspace root.
const WALKTHROUGHS: &[(&str, &str)] = &[
    ("docs/custom_env.md", "examples/custom_env.rs"),
    ("docs/custom_algorithm.md", "examples/custom_algorithm.rs"),
];

/// The lines of `text` that carry code, trimmed.
fn code_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// The runs of lines of each ```` ```rust ```` block of `doc`, with the block's first line
/// number.
fn quoted_runs(doc: &str) -> Vec<(usize, Vec<&str>)> {
    let mut runs = Vec::new();
    let mut current: Option<(usize, Vec<&str>)> = None;
    for (n, line) in doc.lines().enumerate() {
        let t = line.trim();
        match &mut current {
            None if t == "```rust" => current = Some((n + 2, Vec::new())),
            None => {}
            Some(_) if t == "```" => runs.extend(current.take()),
            Some((start, run)) if t == "// …" => {
                let next = (n + 2, Vec::new());
                runs.push((*start, std::mem::take(run)));
                current = Some(next);
            }
            Some((_, run)) if !t.is_empty() => run.push(t),
            Some(_) => {}
        }
    }
    runs.retain(|(_, run)| !run.is_empty());
    runs
}

#[test]
fn every_rust_block_of_a_walkthrough_is_quoted_from_its_example() {
    let root = env!("CARGO_MANIFEST_DIR");
    let read = |path: &str| {
        std::fs::read_to_string(format!("{root}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    for (doc_path, example_path) in WALKTHROUGHS {
        let (doc, example) = (read(doc_path), read(example_path));
        let example_lines = code_lines(&example);
        let runs = quoted_runs(&doc);
        assert!(!runs.is_empty(), "{doc_path} has no ```rust block");
        for (line, run) in runs {
            let found = example_lines
                .windows(run.len())
                .any(|w| w == run.as_slice());
            assert!(
                found,
                "{doc_path}:{line}: this part of a ```rust block is not in {example_path} (the doc quotes the example; update the quote):\n{}",
                run.join("\n")
            );
        }
    }
}

#[test]
fn a_changed_quote_is_caught() {
    let doc = "text\n```rust\nfn a() {\n    b();\n    // …\n    c();\n}\n```\n";
    let runs = quoted_runs(doc);
    assert_eq!(
        runs,
        [(3, vec!["fn a() {", "b();"]), (6, vec!["c();", "}"])]
    );
    let example = code_lines("fn a() {\n  b();\n\n  x();\n  c();\n}\n");
    let found = |run: &Vec<&str>| example.windows(run.len()).any(|w| w == run.as_slice());
    assert!(runs.iter().all(|(_, r)| found(r)));
    assert!(
        !found(&vec!["fn a() {", "c();"]),
        "lines out of order are not a quote"
    );
}
