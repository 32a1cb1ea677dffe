use super::*;

#[test]
fn every_embedded_entry_parses_and_validates() {
    let cat = Catalog::embedded().unwrap();
    assert!(!cat.gpus.is_empty());
}
