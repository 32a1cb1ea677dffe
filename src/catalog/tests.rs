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

/// Every board or barebone server (not a complete system) has a CPU for its socket and a RAM kit
/// of its kind, so its builds carry both lines. The one named exception has no kit: no dated
/// DDR4 RDIMM price was found (hardware_db/parts/README.md).
#[test]
fn every_board_has_a_cpu_for_its_socket_and_a_ram_kit_of_its_kind() {
    const NO_RAM_KIT: &[&str] = &["asus-pro-ws-wrx80e-sage-se-wifi"];
    let cat = Catalog::embedded().unwrap();
    for p in cat.platforms.iter().filter(|p| !p.complete_system) {
        assert!(
            cat.cpus.iter().any(|c| c.socket == p.socket),
            "{}: no CPU for socket {}",
            p.id,
            p.socket
        );
        let kind = p.ram_kind.as_deref().unwrap_or_default();
        let kit = cat.ram.iter().any(|r| r.kind == kind);
        assert_eq!(
            kit,
            !NO_RAM_KIT.contains(&p.id.as_str()),
            "{}: RAM kit of kind {kind} present: {kit}",
            p.id
        );
    }
}

/// The late-2026 GPUs of issue 12 each have a platform: the OAM and SXM modules a baseboard
/// server or system listing them, the RTX PRO 6000 Server Edition (passive) an 8-GPU PCIe server.
#[test]
fn issue_12_gpus_have_a_platform() {
    let cat = Catalog::embedded().unwrap();
    for gpu in ["mi300x", "mi325x", "mi355x", "gaudi-3", "b300-sxm"] {
        assert!(
            cat.platforms.iter().any(|p| {
                matches!(p.kind, PlatformKind::BaseboardServer | PlatformKind::System)
                    && p.gpus.iter().any(|g| g == gpu)
            }),
            "{gpu}: no baseboard server lists it"
        );
    }
    assert!(cat.gpus.get("rtx-pro-6000-blackwell-server").is_some());
    assert!(cat
        .platforms
        .iter()
        .any(|p| p.kind == PlatformKind::PcieServer && p.max_gpus >= 8 && p.x16_slots >= 8));
    for (socket, cpu) in [("SP5", "amd-epyc-9575f"), ("LGA4710", "intel-xeon-6776p")] {
        assert_eq!(cat.cpus.get(cpu).map(|c| c.socket.as_str()), Some(socket));
    }
}

/// A name an overlay entry reuses is blamed on the overlay's file, whichever entry the check
/// meets first (found by the fuzz campaign: the error named the embedded file).
#[test]
fn a_name_an_overlay_reuses_is_blamed_on_the_overlay() {
    let cat = Catalog::embedded().unwrap();
    let mut g = cat.gpus.get("mi250x").unwrap().clone();
    // Sorts before the embedded entry whose aliases it keeps.
    g.id = "aa-entry".into();
    let toml = toml::to_string(&std::collections::BTreeMap::from([("gpu", vec![g])])).unwrap();
    let err = overlay(&toml).unwrap_err().to_string();
    assert!(
        err.contains("test.toml") && err.contains("'aa-entry'") && err.contains("aliases"),
        "{err}"
    );
}
