use super::*;

#[test]
fn every_embedded_entry_parses_and_validates() {
    let cat = Catalog::embedded().unwrap();
    assert!(!cat.gpus.is_empty());
}

/// A one-entry overlay on the embedded catalog, validated.
fn overlay(toml: &str) -> Result<Catalog, CatalogError> {
    let mut cat = Catalog::embedded().unwrap();
    cat.add_file("test.toml", toml, true)?;
    validate::validate(&cat)?;
    Ok(cat)
}

const CIRCUIT: &str = "[[circuit]]\nid = \"test-circuit\"\nname = \"Test\"\nregion = \"us\"\nvolts = 120\namps = 15\ncontinuous_w = 1440\nsource = \"https://example.org/circuit\"\n";

#[test]
fn per_field_sources_must_name_real_fields() {
    assert!(overlay(&format!(
        "{CIRCUIT}sources = {{ amps = \"https://example.org/amps\" }}\n"
    ))
    .is_ok());
    let err = overlay(&format!(
        "{CIRCUIT}sources = {{ ampz = \"https://example.org/amps\" }}\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("sources.ampz") && err.contains("names no field"),
        "{err}"
    );
}

#[test]
fn range_and_duplicate_errors_name_the_entry() {
    let err = overlay(&CIRCUIT.replace("continuous_w = 1440", "continuous_w = 9000"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("test-circuit") && err.contains("continuous_w"),
        "{err}"
    );
    let err = overlay(&format!("{CIRCUIT}{CIRCUIT}"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("defined twice"), "{err}");
}
