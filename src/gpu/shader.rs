//! The one shader composer. Every pass's WGSL is a file in `shaders/`, built into the binary;
//! a file shares code with another by naming it on a line of its own:
//!
//! ```wgsl
//! // #include "keyer.wgsl"
//! ```
//!
//! [`compose`] replaces that line with the named file's text (itself composed), once per
//! shader: a file included a second time, directly or through another, adds nothing. The line
//! is a WGSL comment, so an editor reads every file as WGSL. [`module`] hands the composed text
//! to the device, labelled with the file's name. This is the only place WGSL is put together:
//! the keyer (`keyer.wgsl`) is included by the seat billboards (`participant.wgsl`) and the
//! headless key pass (`key_pass.wgsl`), and the room's flat quad (`room_quad.wgsl`) by the
//! nameplates (`nameplate.wgsl`) and the contact shadows (`contact_shadow.wgsl`).

use super::GpuError;

/// Every WGSL file in `shaders/`, by file name.
const SOURCES: &[(&str, &str)] = &[
    (
        "contact_shadow.wgsl",
        include_str!("../../shaders/contact_shadow.wgsl"),
    ),
    ("key_pass.wgsl", include_str!("../../shaders/key_pass.wgsl")),
    ("keyer.wgsl", include_str!("../../shaders/keyer.wgsl")),
    (
        "light_wrap.wgsl",
        include_str!("../../shaders/light_wrap.wgsl"),
    ),
    (
        "nameplate.wgsl",
        include_str!("../../shaders/nameplate.wgsl"),
    ),
    (
        "output_i420.wgsl",
        include_str!("../../shaders/output_i420.wgsl"),
    ),
    (
        "participant.wgsl",
        include_str!("../../shaders/participant.wgsl"),
    ),
    ("room.wgsl", include_str!("../../shaders/room.wgsl")),
    (
        "room_quad.wgsl",
        include_str!("../../shaders/room_quad.wgsl"),
    ),
];

/// The files that are whole shader modules, one per pass (the others are only included).
pub const MODULES: [&str; 7] = [
    "room.wgsl",
    "participant.wgsl",
    "nameplate.wgsl",
    "contact_shadow.wgsl",
    "light_wrap.wgsl",
    "output_i420.wgsl",
    "key_pass.wgsl",
];

/// What starts an include line; the file name follows in double quotes.
const INCLUDE: &str = "// #include ";

/// The text of `shaders/NAME` as shipped, before its includes are resolved.
pub fn source(name: &str) -> Option<&'static str> {
    SOURCES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// `shaders/NAME` with every include line replaced by the named file's composed text.
pub fn compose(name: &str) -> Result<String, GpuError> {
    compose_from(name, source)
}

/// A shader module of `shaders/NAME`, composed, labelled with its file name.
///
/// # Panics
/// If `name` is not a file in `shaders/` or names a missing include: the set is fixed at build
/// time, and the tests compose and validate every module.
pub fn module(device: &wgpu::Device, name: &str) -> wgpu::ShaderModule {
    let source = compose(name).unwrap_or_else(|e| panic!("{e}"));
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(name),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    })
}

/// [`compose`] over the files `sources` knows.
fn compose_from<'a>(
    name: &str,
    sources: impl Fn(&str) -> Option<&'a str>,
) -> Result<String, GpuError> {
    let mut out = String::new();
    let mut seen = Vec::new();
    append(name, &sources, &mut seen, &mut out, None)?;
    Ok(out)
}

/// Appends `name`'s composed text to `out` unless `seen` already holds it.
fn append<'a>(
    name: &str,
    sources: &impl Fn(&str) -> Option<&'a str>,
    seen: &mut Vec<String>,
    out: &mut String,
    from: Option<&str>,
) -> Result<(), GpuError> {
    if seen.iter().any(|s| s == name) {
        return Ok(());
    }
    seen.push(name.to_owned());
    let text = sources(name).ok_or_else(|| {
        GpuError::Shader(match from {
            Some(from) => format!("{from}: includes {name:?}, which is not in shaders/"),
            None => format!("{name:?} is not in shaders/"),
        })
    })?;
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix(INCLUDE) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let included = rest
            .trim()
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                GpuError::Shader(format!(
                    "{name}: bad include line {line:?}; write {INCLUDE}\"FILE.wgsl\""
                ))
            })?;
        append(included, sources, seen, out, Some(name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wgpu::naga;

    /// Parses and validates WGSL as the device would, without one.
    fn validate(name: &str, wgsl: &str) {
        let module = naga::front::wgsl::parse_str(wgsl)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(wgsl)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(wgsl)));
    }

    #[test]
    fn every_module_composes_and_validates() {
        for name in MODULES {
            let wgsl = compose(name).unwrap();
            assert!(
                !wgsl.contains(INCLUDE),
                "{name}: an include left unresolved"
            );
            validate(name, &wgsl);
        }
    }

    #[test]
    fn every_file_in_shaders_is_known_and_every_include_only_file_is_used() {
        let dir = std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
        )
        .join("shaders");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".wgsl"))
            .collect();
        on_disk.sort();
        let mut known: Vec<String> = SOURCES.iter().map(|(n, _)| n.to_string()).collect();
        known.sort();
        assert_eq!(on_disk, known, "shaders/ and SOURCES differ");
        for (name, _) in SOURCES {
            if MODULES.contains(name) {
                continue;
            }
            let used = MODULES
                .iter()
                .any(|m| source(m).unwrap().contains(&format!("{INCLUDE}\"{name}\"")));
            assert!(used, "{name} is neither a module nor included by one");
        }
    }

    #[test]
    fn the_keyer_and_the_room_quad_are_shared_not_copied() {
        for (module, shared, marker) in [
            ("participant.wgsl", "keyer.wgsl", "fn key_pixel("),
            ("key_pass.wgsl", "keyer.wgsl", "fn key_pixel("),
            ("nameplate.wgsl", "room_quad.wgsl", "struct QuadUniform"),
            (
                "contact_shadow.wgsl",
                "room_quad.wgsl",
                "struct QuadUniform",
            ),
        ] {
            assert!(!source(module).unwrap().contains(marker), "{module}");
            assert!(source(shared).unwrap().contains(marker), "{shared}");
            assert_eq!(
                compose(module).unwrap().matches(marker).count(),
                1,
                "{module}"
            );
        }
    }

    #[test]
    fn includes_resolve_once_in_place_and_broken_ones_fail() {
        let files = |name: &str| match name {
            "a.wgsl" => Some("// #include \"b.wgsl\"\nA\n// #include \"c.wgsl\"\n"),
            "b.wgsl" => Some("// #include \"c.wgsl\"\nB\n"),
            "c.wgsl" => Some("  // #include \"a.wgsl\"\nC\n"),
            "missing.wgsl" => Some("// #include \"nowhere.wgsl\"\n"),
            "bad.wgsl" => Some("// #include nowhere.wgsl\n"),
            _ => None,
        };
        // c is included once (through b), and its include of a, already open, adds nothing.
        assert_eq!(compose_from("a.wgsl", files).unwrap(), "C\nB\nA\n");
        let err = compose_from("missing.wgsl", files).unwrap_err().to_string();
        assert!(err.contains("nowhere.wgsl"), "{err}");
        assert!(compose_from("bad.wgsl", files).is_err());
        assert!(compose_from("unknown.wgsl", files).is_err());
        assert!(compose("unknown.wgsl").is_err());
    }

    #[test]
    fn a_broken_include_fails_validation() {
        // What a shader that lost its include looks like to the device: refused.
        let body = source("participant.wgsl")
            .unwrap()
            .replace(&format!("{INCLUDE}\"keyer.wgsl\""), "");
        let module = naga::front::wgsl::parse_str(&body);
        assert!(module.is_err(), "participant.wgsl parses without the keyer");
    }
}
