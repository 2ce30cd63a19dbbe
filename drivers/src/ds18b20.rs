//! The DS18B20 1-wire temperature probe, read through the Linux w1 sysfs files.
//!
//! The kernel's `w1-gpio` and `w1_therm` drivers speak the 1-wire protocol. Each probe appears
//! as a directory `/sys/bus/w1/devices/28-xxxxxxxxxxxx/`, whose `w1_slave` file starts a
//! conversion when read and returns the scratchpad, the kernel's CRC verdict and the temperature
//! in millidegrees:
//!
//! ```text
//! 72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
//! 72 01 4b 46 7f ff 0e 10 57 t=23125
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::measurement::{Measurement, Quantity};
use crate::sensor::{Sensor, SensorError};

/// Where the kernel lists 1-wire devices.
pub const W1_DEVICES: &str = "/sys/bus/w1/devices";

/// The 1-wire family code of the DS18B20, and so the prefix of its sysfs directory.
const FAMILY: &str = "28-";
const SERIAL_DIGITS: usize = 12;

/// The register value after power-on, before any conversion.
const POWER_ON_MILLI: i64 = 85_000;
/// What w1_therm reports when the probe did not answer the conversion.
const NO_ANSWER_MILLI: i64 = -127_000;
const MIN_MILLI: i64 = -55_000;
const MAX_MILLI: i64 = 125_000;

/// How much of an unexpected file an error repeats.
const SHOWN_CHARS: usize = 160;

const WIRING_HINT: &str = "check the wiring and the 4.7 kΩ pull-up";

/// A configured probe id that is not a DS18B20 sysfs name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "invalid DS18B20 id \"{0}\": expected \"28-\" and 12 hex digits, like 28-0316a2795bff \
     (`ls /sys/bus/w1/devices` lists the probes present)"
)]
pub struct InvalidProbeId(pub String);

/// Checks a probe id and returns it as sysfs spells it (lower-case hex).
pub fn parse_id(id: &str) -> Result<String, InvalidProbeId> {
    let trimmed = id.trim();
    let valid = trimmed.strip_prefix(FAMILY).is_some_and(|serial| {
        serial.len() == SERIAL_DIGITS && serial.chars().all(|c| c.is_ascii_hexdigit())
    });
    if valid {
        Ok(trimmed.to_ascii_lowercase())
    } else {
        Err(InvalidProbeId(id.to_string()))
    }
}

/// One DS18B20 probe under a w1 sysfs root. Each read blocks for about 750 ms while the probe
/// converts, so the gateway reads it off the async runtime.
#[derive(Debug, Clone)]
pub struct Ds18b20 {
    device_dir: PathBuf,
    id: String,
}

impl Ds18b20 {
    /// A probe `id` (like `28-0316a2795bff`) under `w1_root`, normally [`W1_DEVICES`].
    ///
    /// Only the id is checked here: a probe that is unplugged at start-up is reported by
    /// `read`, so the gateway can start and retry.
    pub fn new(w1_root: &Path, id: &str) -> Result<Self, InvalidProbeId> {
        let id = parse_id(id)?;
        Ok(Ds18b20 {
            device_dir: w1_root.join(&id),
            id,
        })
    }

    /// The ids of the DS18B20 probes present under `w1_root`, sorted; empty when there are none
    /// or 1-wire is not enabled.
    pub fn discover(w1_root: &Path) -> Vec<String> {
        let Ok(entries) = fs::read_dir(w1_root) else {
            return Vec::new();
        };
        let mut ids: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| parse_id(name).as_deref() == Ok(name.as_str()))
            .collect();
        ids.sort();
        ids
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn device_dir(&self) -> &Path {
        &self.device_dir
    }

    fn io_error(&self, path: &Path, err: io::Error) -> SensorError {
        match err.kind() {
            io::ErrorKind::NotFound if !self.device_dir.is_dir() => {
                let root = self.device_dir.parent().unwrap_or(Path::new(""));
                let present = if !root.is_dir() {
                    format!("{} does not exist", root.display())
                } else {
                    let ids = Self::discover(root);
                    if ids.is_empty() {
                        "no probes present".to_string()
                    } else {
                        format!("probes present: {}", ids.join(", "))
                    }
                };
                SensorError::Io(format!(
                    "no 1-wire device {} in {} ({present}): enable 1-wire with \
                     `dtoverlay=w1-gpio` in /boot/firmware/config.txt and {WIRING_HINT}",
                    self.id,
                    root.display()
                ))
            }
            io::ErrorKind::NotFound => SensorError::Io(format!(
                "{} has no w1_slave file: the w1_therm driver is not bound to it; \
                 check `lsmod | grep w1_therm`",
                self.device_dir.display()
            )),
            io::ErrorKind::PermissionDenied => SensorError::Io(format!(
                "permission denied reading {}: run the gateway as a user that may read it",
                path.display()
            )),
            _ => SensorError::Io(format!("reading {}: {err}", path.display())),
        }
    }
}

impl Sensor for Ds18b20 {
    fn quantities(&self) -> &[Quantity] {
        &[Quantity::Temperature]
    }

    /// Reads `w1_slave`. The kernel runs a conversion for each read, so this blocks for about
    /// 750 ms (at the default 12-bit resolution): call it off the async runtime.
    fn read(&mut self) -> Result<Vec<Measurement>, SensorError> {
        let path = self.device_dir.join("w1_slave");
        let bytes = fs::read(&path).map_err(|e| self.io_error(&path, e))?;
        let milli = parse_w1_slave(&self.id, &String::from_utf8_lossy(&bytes))?;
        Ok(vec![Measurement {
            quantity: Quantity::Temperature,
            value: milli as f64 / 1000.0,
        }])
    }
}

/// The temperature in millidegrees from a `w1_slave` file's text.
///
/// `t=85000` is always rejected as the power-on value: a probe that lost power mid-read shows
/// it, and a true 85.000 °C is not worth telling apart from the scratchpad for a home gateway.
fn parse_w1_slave(id: &str, text: &str) -> Result<i64, SensorError> {
    if text.trim().is_empty() {
        // w1_therm returns nothing when the probe did not answer the reset or the read.
        return Err(SensorError::Bus(format!(
            "{id}: w1_slave was empty: the probe did not answer; {WIRING_HINT}"
        )));
    }
    let malformed = || {
        let shown: String = text.chars().take(SHOWN_CHARS).collect();
        SensorError::Io(format!(
            "{id}: unexpected w1_slave content {shown:?}: expected \"… : crc=xx YES\" \
             then \"… t=<millidegrees>\"; is this a DS18B20?"
        ))
    };

    let crc_line = text
        .lines()
        .find(|l| l.contains("crc="))
        .ok_or_else(malformed)?;
    let (scratchpad, verdict) = crc_line.split_once("crc=").ok_or_else(malformed)?;
    match verdict.split_whitespace().nth(1) {
        Some("YES") => {}
        Some("NO") => {
            return Err(SensorError::Checksum(format!(
                "{id}: the kernel's CRC check failed ({:?}): noise on the data line; \
                 {WIRING_HINT}, and shorten or shield long cables",
                crc_line.trim()
            )))
        }
        _ => return Err(malformed()),
    }

    let milli: i64 = text
        .split_whitespace()
        .find_map(|token| token.strip_prefix("t="))
        .and_then(|t| t.parse().ok())
        .ok_or_else(malformed)?;

    let bytes: Vec<u8> = scratchpad
        .split_whitespace()
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect();
    // An all-zero scratchpad passes the CRC (the CRC of zeros is zero) but is never real:
    // a DS18B20's configuration byte always has its low five bits set.
    if bytes.len() == 9 && bytes.iter().all(|&b| b == 0) {
        return Err(SensorError::Implausible(format!(
            "{id}: the scratchpad is all zeros ({:?}): the data line is held low; \
             check for a short or a swapped wire",
            crc_line.trim()
        )));
    }

    match milli {
        POWER_ON_MILLI => Err(SensorError::Implausible(format!(
            "{id}: t=85000 is the value a probe holds after power-on, before its first \
             conversion: it lost power during the read; check the 3.3 V wire, or power it \
             rather than using parasite power"
        ))),
        NO_ANSWER_MILLI => Err(SensorError::Implausible(format!(
            "{id}: t=-127000 means the probe did not answer the conversion; {WIRING_HINT}"
        ))),
        MIN_MILLI..=MAX_MILLI => Ok(milli),
        _ => Err(SensorError::Implausible(format!(
            "{id}: t={milli} ({} °C) is outside the DS18B20's range of -55 to 125 °C",
            milli as f64 / 1000.0
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::ds18b20::TempDir;

    const ID: &str = "28-0316a2795bff";
    const GOOD: &str =
        "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n";

    /// A fake `/sys/bus/w1/devices` holding one probe whose `w1_slave` holds `content`.
    fn tree(content: &[u8]) -> TempDir {
        let root = TempDir::new_in(&std::env::temp_dir(), "hearth-ds18b20-test").unwrap();
        let dir = root.path().join(ID);
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("w1_slave"), content).unwrap();
        root
    }

    fn read(content: &[u8]) -> Result<f64, SensorError> {
        let root = tree(content);
        let mut probe = Ds18b20::new(root.path(), ID).unwrap();
        probe.read().map(|m| {
            assert_eq!(m.len(), 1);
            assert_eq!(m[0].quantity, Quantity::Temperature);
            m[0].value
        })
    }

    #[test]
    fn reads_a_normal_and_a_negative_value() {
        assert_eq!(read(GOOD.as_bytes()), Ok(23.125));
        let negative =
            "ec ff 4b 46 7f ff 04 10 f4 : crc=f4 YES\nec ff 4b 46 7f ff 04 10 f4 t=-1250\n";
        assert_eq!(read(negative.as_bytes()), Ok(-1.25));
        // Older kernels, trailing whitespace and no final newline read the same.
        assert_eq!(read(b"72 01 : crc=57 YES  \n72 01 t=23125"), Ok(23.125));
    }

    #[test]
    fn a_failed_crc_is_a_checksum_error() {
        let text = "72 01 4b 46 7f ff 0e 10 ff : crc=57 NO\n72 01 4b 46 7f ff 0e 10 57 t=23125\n";
        let err = read(text.as_bytes()).unwrap_err();
        assert!(
            matches!(&err, SensorError::Checksum(m) if m.contains("crc=57 NO") && m.contains(ID)),
            "{err}"
        );
    }

    #[test]
    fn special_and_out_of_range_values_are_implausible() {
        for (t, seen) in [
            ("85000", "power-on"),
            ("-127000", "did not answer"),
            ("125001", "outside"),
            ("-55001", "outside"),
            ("2000000", "outside"),
        ] {
            let text = format!("50 05 4b 46 7f ff 0c 10 1c : crc=1c YES\n50 05 t={t}\n");
            let err = read(text.as_bytes()).unwrap_err();
            assert!(
                matches!(&err, SensorError::Implausible(m) if m.contains(seen)),
                "t={t}: {err}"
            );
        }
        assert_eq!(
            read(b"d0 07 4b 46 7f ff 10 10 55 : crc=55 YES\nd0 07 4b 46 7f ff 10 10 55 t=125000\n"),
            Ok(125.0)
        );
        let zeros = "00 00 00 00 00 00 00 00 00 : crc=00 YES\n00 00 00 00 00 00 00 00 00 t=0\n";
        let err = read(zeros.as_bytes()).unwrap_err();
        assert!(
            matches!(&err, SensorError::Implausible(m) if m.contains("all zeros")),
            "{err}"
        );
    }

    #[test]
    fn malformed_content_is_an_error_that_repeats_it() {
        let cases: &[&[u8]] = &[
            b"garbage",
            b"72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n",
            b"72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 t=\n",
            b"72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 t=2x3\n",
            b"72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 t=99999999999999999999999\n",
            b"72 01 4b 46 7f ff 0e 10 57 : crc=57\n72 01 t=23125\n",
            b"72 01 4b 46 7f ff 0e 10 57 : crc=\n",
            b"t=23125\n",
            "crc=é YES\nt=°".as_bytes(),
            b"\xff\xfe\x00crc=57 YES\n\x80t=1",
        ];
        for content in cases {
            let err = read(content).unwrap_err();
            assert!(
                matches!(&err, SensorError::Io(m) if m.contains("unexpected w1_slave content")),
                "{content:?}: {err}"
            );
        }
        let long = format!("{}\n", "x".repeat(10_000));
        let err = read(long.as_bytes()).unwrap_err().to_string();
        assert!(err.len() < 600, "{err}");
        let err = read(b"garbage").unwrap_err().to_string();
        assert!(err.contains("\"garbage\""), "{err}");
    }

    #[test]
    fn an_empty_file_means_the_probe_did_not_answer() {
        for content in [&b""[..], b"\n", b"  \n \n"] {
            assert!(matches!(read(content), Err(SensorError::Bus(_))));
        }
    }

    #[test]
    fn a_missing_device_says_how_to_enable_1_wire_and_lists_probes_present() {
        let root = tree(GOOD.as_bytes());
        let mut probe = Ds18b20::new(root.path(), "28-000000000001").unwrap();
        let err = probe.read().unwrap_err();
        let SensorError::Io(message) = &err else {
            panic!("{err:?}");
        };
        for part in [
            "no 1-wire device 28-000000000001",
            "dtoverlay=w1-gpio",
            "4.7 kΩ",
            ID,
        ] {
            assert!(message.contains(part), "{part}: {message}");
        }

        let gone = root.path().join("no-such-root");
        let err = Ds18b20::new(&gone, ID).unwrap().read().unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }

    #[test]
    fn a_device_without_w1_slave_points_at_the_driver() {
        let root = tree(GOOD.as_bytes());
        fs::remove_file(root.path().join(ID).join("w1_slave")).unwrap();
        let err = Ds18b20::new(root.path(), ID).unwrap().read().unwrap_err();
        assert!(
            matches!(&err, SensorError::Io(m) if m.contains("w1_therm")),
            "{err}"
        );
    }

    #[test]
    fn ids_are_checked_and_normalised() {
        assert_eq!(parse_id(" 28-0316A2795BFF"), Ok(ID.to_string()));
        for bad in [
            "",
            "28-",
            "10-0316a2795bff",
            "28-0316a2795bf",
            "28-0316a2795bffa",
            "28-0316a2795bfg",
            "28_0316a2795bff",
            "28-0316a2795bé",
        ] {
            let err = Ds18b20::new(Path::new(W1_DEVICES), bad).unwrap_err();
            assert!(
                err.to_string().contains("like 28-0316a2795bff"),
                "{bad}: {err}"
            );
        }
        let probe = Ds18b20::new(Path::new(W1_DEVICES), ID).unwrap();
        assert_eq!(probe.id(), ID);
        assert_eq!(probe.device_dir(), Path::new(W1_DEVICES).join(ID));
        assert_eq!(probe.quantities(), &[Quantity::Temperature]);
    }

    #[test]
    fn discover_lists_only_ds18b20_probes_sorted() {
        let root = tree(GOOD.as_bytes());
        for name in [
            "28-00000000000a",
            "w1_bus_master1",
            "10-000802b4a1c4",
            "28-bogus",
        ] {
            fs::create_dir(root.path().join(name)).unwrap();
        }
        assert_eq!(
            Ds18b20::discover(root.path()),
            vec!["28-00000000000a".to_string(), ID.to_string()]
        );
        assert!(Ds18b20::discover(&root.path().join("missing")).is_empty());
    }
}
