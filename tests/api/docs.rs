//! The README documents every configuration key with its default.

#[test]
fn readme_lists_every_configuration_key() {
    let readme =
        std::fs::read_to_string(format!("{}/README.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let table = fixline::config::markdown_table();
    assert!(
        readme.contains(&table),
        "README.md must contain the configuration table exactly as the code defines it:\n\n{table}"
    );
}

#[test]
fn readme_opens_with_the_two_commands() {
    let readme =
        std::fs::read_to_string(format!("{}/README.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let first_block = readme.split("```").nth(1).expect("a code block");
    assert!(first_block.contains("serve --demo"), "{first_block}");
    assert!(first_block.contains("scripts/test"), "{first_block}");
    let ci = std::fs::read_to_string(format!("{}/.ci/run", env!("CARGO_MANIFEST_DIR"))).unwrap();
    assert!(
        ci.contains("./scripts/test"),
        "CI runs the README's test command"
    );
}
