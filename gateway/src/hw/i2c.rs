//! Opening a Linux I2C bus, with errors that say what to do on a Raspberry Pi.

use std::io::ErrorKind;
use std::path::Path;

use drivers::SensorError;
use linux_embedded_hal::I2cdev;

pub fn open(path: &Path) -> Result<I2cdev, SensorError> {
    I2cdev::new(path).map_err(|e| {
        let kind = match &e {
            linux_embedded_hal::i2cdev::linux::LinuxI2CError::Io(io) => io.kind(),
            linux_embedded_hal::i2cdev::linux::LinuxI2CError::Errno(n) => {
                std::io::Error::from_raw_os_error(*n).kind()
            }
        };
        let hint = match kind {
            ErrorKind::NotFound => {
                "; enable I2C with `sudo raspi-config nonint do_i2c 0` (Interface Options > I2C) and reboot"
            }
            ErrorKind::PermissionDenied => {
                "; add the user to the i2c group (`sudo usermod -aG i2c hearth`) or run as the hearth service"
            }
            _ => "",
        };
        SensorError::Bus(format!("{}: {e}{hint}", path.display()))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_missing_bus_says_how_to_enable_i2c() {
        let Err(e) = super::open(std::path::Path::new("/dev/i2c-99")) else {
            panic!("/dev/i2c-99 opened");
        };
        let text = e.to_string();
        assert!(text.contains("/dev/i2c-99"), "{text}");
        assert!(text.contains("raspi-config"), "{text}");
    }
}
