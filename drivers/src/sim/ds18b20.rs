//! A simulated 1-wire bus of DS18B20 probes: a directory laid out like `/sys/bus/w1/devices`
//! whose `w1_slave` files are written as the kernel's w1_therm driver fills them, so the real
//! [`Ds18b20`](crate::ds18b20::Ds18b20) driver reads them unchanged.
//!
//! A file cannot compute its value when read, so a control handle rewrites its probe's file
//! whenever the temperature, drift or fault changes and on each [`SimDs18b20Control::refresh`];
//! call `refresh` before each read for drift to move.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::ds18b20::parse_id;
use crate::sim::fault::{Drift, Fault};

/// The temperature a new probe reports until told otherwise.
pub const DEFAULT_CELSIUS: f64 = 20.0;

/// The Dallas/Maxim 1-wire CRC-8 (polynomial x^8 + x^5 + x^4 + 1, reflected 0x8C, initial 0).
/// A scratchpad is valid when the CRC of its first eight bytes equals its ninth.
pub fn crc8(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |mut crc, &byte| {
        let mut b = byte;
        for _ in 0..8 {
            let mix = (crc ^ b) & 1;
            crc >>= 1;
            if mix != 0 {
                crc ^= 0x8c;
            }
            b >>= 1;
        }
        crc
    })
}

/// The nine scratchpad bytes a DS18B20 at 12-bit resolution returns for `celsius`, with the
/// alarm bytes at their factory values.
pub fn scratchpad(celsius: f64) -> [u8; 9] {
    // `as` saturates (and maps NaN to 0), as the 16-bit register cannot hold more.
    let raw = (celsius * 16.0).round() as i16;
    let [lsb, msb] = raw.to_le_bytes();
    // Byte 6 is reserved; genuine chips leave 16 minus the fraction nibble in it.
    let mut pad = [
        lsb,
        msb,
        0x4b,
        0x46,
        0x7f,
        0xff,
        0x10 - (lsb & 0x0f),
        0x10,
        0,
    ];
    pad[8] = crc8(&pad[..8]);
    pad
}

/// Millidegrees as w1_therm computes them from the scratchpad (truncating, as C does).
fn millidegrees(pad: &[u8; 9]) -> i32 {
    i32::from(i16::from_le_bytes([pad[0], pad[1]])) * 1000 / 16
}

fn hex(pad: &[u8; 9]) -> String {
    pad.iter().map(|b| format!("{b:02x} ")).collect()
}

/// The `w1_slave` text after a clean read.
fn w1_slave_text(pad: &[u8; 9]) -> String {
    let h = hex(pad);
    format!("{h}: crc={:02x} YES\n{h}t={}\n", pad[8], millidegrees(pad))
}

/// The `w1_slave` text after a read with one bit flipped on the wire: the kernel prints the CRC
/// it computed, its verdict, then the last good scratchpad and the temperature of the bad one.
fn w1_slave_corrupted(pad: &[u8; 9]) -> String {
    let mut bad = *pad;
    bad[0] ^= 0x04;
    format!(
        "{}: crc={:02x} NO\n{}t={}\n",
        hex(&bad),
        crc8(&bad[..8]),
        hex(pad),
        millidegrees(&bad)
    )
}

/// A uniquely named directory, removed with everything in it on drop.
#[derive(Debug)]
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new_in(parent: &Path, prefix: &str) -> io::Result<Self> {
        static COUNT: AtomicU64 = AtomicU64::new(0);
        // The clock part keeps names unique across runs that reuse a process id.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        loop {
            let n = COUNT.fetch_add(1, Ordering::Relaxed);
            let path = parent.join(format!("{prefix}-{}-{nanos}-{n}", std::process::id()));
            match fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir(path)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A directory standing in for `/sys/bus/w1/devices`, removed on drop. Pass [`root`] to
/// [`Ds18b20::new`](crate::ds18b20::Ds18b20::new).
///
/// [`root`]: SimW1Bus::root
#[derive(Debug)]
pub struct SimW1Bus {
    dir: TempDir,
}

impl SimW1Bus {
    /// A bus in a fresh directory under the system's temporary directory.
    pub fn new() -> io::Result<Self> {
        Self::new_in(&std::env::temp_dir())
    }

    /// A bus in a fresh directory under `parent`.
    pub fn new_in(parent: &Path) -> io::Result<Self> {
        let dir = TempDir::new_in(parent, "hearth-w1")?;
        // Real sysfs lists the bus master beside the probes; discovery must skip it.
        fs::create_dir(dir.path().join("w1_bus_master1"))?;
        Ok(SimW1Bus { dir })
    }

    /// The directory to read probes from, in place of `/sys/bus/w1/devices`.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Plugs in a probe reading [`DEFAULT_CELSIUS`] and returns its control handle.
    pub fn add_probe(&self, id: &str) -> io::Result<SimDs18b20Control> {
        let id = parse_id(id).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let dir = self.root().join(&id);
        if dir.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("probe {id} is already on this bus; give each probe its own id"),
            ));
        }
        let control = SimDs18b20Control {
            probe: Arc::new(Mutex::new(Probe {
                id,
                dir,
                celsius: DEFAULT_CELSIUS,
                drift: Drift::NONE,
                fault: Fault::None,
                started: Instant::now(),
            })),
        };
        control.refresh()?;
        Ok(control)
    }
}

#[derive(Debug)]
struct Probe {
    id: String,
    dir: PathBuf,
    celsius: f64,
    drift: Drift,
    fault: Fault,
    started: Instant,
}

impl Probe {
    fn celsius_at(&self, elapsed: Duration) -> f64 {
        self.celsius + self.drift.offset(elapsed)
    }

    /// Brings the probe's directory in line with its state, `elapsed` after it was plugged in.
    fn sync_at(&self, elapsed: Duration) -> io::Result<()> {
        let pad = scratchpad(self.celsius_at(elapsed));
        match self.fault {
            Fault::None => self.write(&w1_slave_text(&pad)),
            Fault::BusError => self.write(&w1_slave_corrupted(&pad)),
            Fault::Stuck => Ok(()),
            Fault::Nack => match fs::remove_dir_all(&self.dir) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
        }
    }

    fn write(&self, text: &str) -> io::Result<()> {
        // `create_dir`, not `create_dir_all`: once the bus is dropped, writes fail instead of
        // recreating its tree.
        match fs::create_dir(&self.dir) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
        // Write then rename, so a reader on another thread never sees a half-written file.
        let tmp = self.dir.join(".w1_slave.new");
        fs::write(&tmp, text)?;
        fs::rename(&tmp, self.dir.join("w1_slave"))
    }
}

/// Sets what one simulated probe reports. Clones control the same probe.
#[derive(Debug, Clone)]
pub struct SimDs18b20Control {
    probe: Arc<Mutex<Probe>>,
}

impl SimDs18b20Control {
    fn lock(&self) -> MutexGuard<'_, Probe> {
        // The state stays consistent even if a holder panicked: every field is set whole.
        self.probe.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn id(&self) -> String {
        self.lock().id.clone()
    }

    /// The temperature the probe reports now, drift included.
    pub fn temperature(&self) -> f64 {
        let probe = self.lock();
        probe.celsius_at(probe.started.elapsed())
    }

    /// Sets the base temperature and rewrites the file.
    pub fn set_temperature(&self, celsius: f64) -> io::Result<()> {
        let mut probe = self.lock();
        probe.celsius = celsius;
        probe.sync_at(probe.started.elapsed())
    }

    /// Sets the slow swing around the base temperature and rewrites the file.
    pub fn set_drift(&self, drift: Drift) -> io::Result<()> {
        let mut probe = self.lock();
        probe.drift = drift;
        probe.sync_at(probe.started.elapsed())
    }

    pub fn fault(&self) -> Fault {
        self.lock().fault
    }

    /// `Nack` unplugs the probe (its directory goes), `BusError` makes the kernel's CRC check
    /// fail, `Stuck` keeps whatever the directory holds now, `None` restores a clean read.
    pub fn set_fault(&self, fault: Fault) -> io::Result<()> {
        let mut probe = self.lock();
        probe.fault = fault;
        probe.sync_at(probe.started.elapsed())
    }

    /// Rewrites the file for the current time, so drift moves.
    pub fn refresh(&self) -> io::Result<()> {
        let probe = self.lock();
        probe.sync_at(probe.started.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ds18b20::Ds18b20;
    use crate::sensor::{Sensor, SensorError};

    const ID: &str = "28-0316a2795bff";

    fn read(bus: &SimW1Bus) -> Result<f64, SensorError> {
        let mut probe = Ds18b20::new(bus.root(), ID).unwrap();
        probe.read().map(|m| m[0].value)
    }

    #[test]
    fn crc_of_the_example_scratchpad_is_0x57() {
        let pad = [0x72, 0x01, 0x4b, 0x46, 0x7f, 0xff, 0x0e, 0x10];
        assert_eq!(crc8(&pad), 0x57);
        assert_eq!(
            crc8(&[0x72, 0x01, 0x4b, 0x46, 0x7f, 0xff, 0x0e, 0x10, 0x57]),
            0
        );
        assert_eq!(
            scratchpad(23.125),
            [0x72, 0x01, 0x4b, 0x46, 0x7f, 0xff, 0x0e, 0x10, 0x57]
        );
    }

    #[test]
    fn the_file_looks_like_the_kernels() {
        assert_eq!(
            w1_slave_text(&scratchpad(23.125)),
            "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"
        );
        assert_eq!(millidegrees(&scratchpad(-1.25)), -1250);
        assert_eq!(millidegrees(&scratchpad(-55.0)), -55000);
        assert_eq!(millidegrees(&scratchpad(125.0)), 125000);
    }

    #[test]
    fn the_real_driver_reads_what_the_control_sets() {
        let bus = SimW1Bus::new().unwrap();
        let control = bus.add_probe(ID).unwrap();
        assert_eq!(read(&bus), Ok(DEFAULT_CELSIUS));
        for celsius in [4.0, 23.125, -1.25, -18.5, 0.0, -55.0, 125.0] {
            control.set_temperature(celsius).unwrap();
            assert_eq!(read(&bus), Ok(celsius), "{celsius} °C");
        }
        // Resolution is 1/16 °C.
        control.set_temperature(21.3).unwrap();
        assert_eq!(read(&bus), Ok(21.312));
        assert_eq!(Ds18b20::discover(bus.root()), vec![ID.to_string()]);
    }

    #[test]
    fn faults_surface_as_driver_errors_and_recover() {
        let bus = SimW1Bus::new().unwrap();
        let control = bus.add_probe(ID).unwrap();
        control.set_temperature(5.5).unwrap();

        control.set_fault(Fault::Nack).unwrap();
        let err = read(&bus).unwrap_err();
        assert!(
            matches!(&err, SensorError::Io(m) if m.contains("no 1-wire device")),
            "{err}"
        );
        assert!(Ds18b20::discover(bus.root()).is_empty());
        control.set_temperature(6.0).unwrap(); // still unplugged
        assert!(read(&bus).is_err());

        control.set_fault(Fault::None).unwrap();
        assert_eq!(read(&bus), Ok(6.0));

        control.set_fault(Fault::BusError).unwrap();
        assert!(matches!(read(&bus), Err(SensorError::Checksum(_))));
        control.set_fault(Fault::None).unwrap();
        assert_eq!(read(&bus), Ok(6.0));

        control.set_fault(Fault::Stuck).unwrap();
        control.set_temperature(30.0).unwrap();
        control.refresh().unwrap();
        assert_eq!(read(&bus), Ok(6.0));
        control.set_fault(Fault::None).unwrap();
        assert_eq!(read(&bus), Ok(30.0));
    }

    #[test]
    fn out_of_range_and_power_on_values_reach_the_driver_as_implausible() {
        let bus = SimW1Bus::new().unwrap();
        let control = bus.add_probe(ID).unwrap();
        for celsius in [85.0, 130.0, -60.0, f64::NAN] {
            control.set_temperature(celsius).unwrap();
            let result = read(&bus);
            // NaN saturates to a raw 0, a valid 0 °C.
            if celsius.is_nan() {
                assert_eq!(result, Ok(0.0));
            } else {
                assert!(
                    matches!(result, Err(SensorError::Implausible(_))),
                    "{celsius}"
                );
            }
        }
    }

    #[test]
    fn drift_moves_the_value_on_refresh() {
        let bus = SimW1Bus::new().unwrap();
        let control = bus.add_probe(ID).unwrap();
        control
            .set_drift(Drift {
                amplitude: 2.0,
                period: Duration::from_secs(100),
            })
            .unwrap();
        // The clock is passed in here so the check does not depend on timing.
        control.lock().sync_at(Duration::from_secs(25)).unwrap();
        assert_eq!(read(&bus), Ok(DEFAULT_CELSIUS + 2.0));
        control.lock().sync_at(Duration::from_secs(75)).unwrap();
        assert_eq!(read(&bus), Ok(DEFAULT_CELSIUS - 2.0));
    }

    #[test]
    fn bad_and_duplicate_ids_are_refused_and_the_bus_cleans_up() {
        let bus = SimW1Bus::new().unwrap();
        let err = bus.add_probe("10-1234").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("28-0316a2795bff"), "{err}");
        let control = bus.add_probe(ID).unwrap();
        let second = bus.add_probe("28-0316A2795BFF").unwrap_err();
        assert_eq!(second.kind(), io::ErrorKind::AlreadyExists);

        let root = bus.root().to_path_buf();
        drop(bus);
        assert!(!root.exists());
        // A handle outliving its bus fails instead of recreating the tree.
        assert!(control.set_temperature(1.0).is_err());
        assert!(!root.exists());
    }

    #[test]
    fn a_bus_can_live_under_a_given_directory() {
        let parent = TempDir::new_in(&std::env::temp_dir(), "hearth-w1-parent").unwrap();
        let bus = SimW1Bus::new_in(parent.path()).unwrap();
        assert_eq!(bus.root().parent(), Some(parent.path()));
    }

    #[test]
    fn the_control_can_move_between_threads() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<SimDs18b20Control>();
        let bus = SimW1Bus::new().unwrap();
        let control = bus.add_probe(ID).unwrap();
        let remote = control.clone();
        std::thread::spawn(move || remote.set_temperature(-3.0))
            .join()
            .unwrap()
            .unwrap();
        assert_eq!(control.temperature(), -3.0);
        assert_eq!(read(&bus), Ok(-3.0));
    }
}
