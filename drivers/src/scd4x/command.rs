//! The SCD4x commands this driver sends, with their codes and execution times.

use std::fmt;

/// A command: a 16-bit code written big-endian, after which the sensor is busy for its
/// execution time and does not acknowledge anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    StartPeriodicMeasurement,
    ReadMeasurement,
    StopPeriodicMeasurement,
    GetDataReadyStatus,
    GetSerialNumber,
    Reinit,
}

impl Command {
    pub const fn code(self) -> u16 {
        match self {
            Command::StartPeriodicMeasurement => 0x21B1,
            Command::ReadMeasurement => 0xEC05,
            Command::StopPeriodicMeasurement => 0x3F86,
            Command::GetDataReadyStatus => 0xE4B8,
            Command::GetSerialNumber => 0x3682,
            Command::Reinit => 0x3646,
        }
    }

    /// The datasheet's name for the command, as errors and logs show it.
    pub const fn name(self) -> &'static str {
        match self {
            Command::StartPeriodicMeasurement => "start_periodic_measurement",
            Command::ReadMeasurement => "read_measurement",
            Command::StopPeriodicMeasurement => "stop_periodic_measurement",
            Command::GetDataReadyStatus => "get_data_ready_status",
            Command::GetSerialNumber => "get_serial_number",
            Command::Reinit => "reinit",
        }
    }

    /// How long to wait after writing the command before reading its answer or sending the
    /// next command, from the datasheet's command table.
    pub const fn execution_time_ms(self) -> u32 {
        match self {
            Command::StartPeriodicMeasurement => 0,
            Command::ReadMeasurement | Command::GetDataReadyStatus | Command::GetSerialNumber => 1,
            Command::StopPeriodicMeasurement => 500,
            // Datasheet revision 1.3 lists 20 ms; later revisions 30 ms. Waiting longer is harmless.
            Command::Reinit => 30,
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
