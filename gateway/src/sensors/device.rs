//! Turning a sensor's settings into something a bus thread can open, re-open and read: the real
//! device on a Pi, or its simulated twin driven by the same driver code.

use std::path::{Path, PathBuf};

use linux_embedded_hal::I2cdev;

use drivers::scd4x::Scd4xSensor;
use drivers::sim::{
    Drift, SimBme280, SimChip, SimDs18b20Control, SimScd4x, SimScd4xControl, SimW1Bus,
};
use drivers::{Ds18b20, Measurement, Quantity, Sensor, SensorError};

use super::settings::{Device, I2cBus, SensorSettings, SimSettings, W1Root};
use super::worker::Opener;
use crate::hw::delay::ThreadDelay;
use crate::hw::shared::SharedI2c;

/// How the outside world (tests, the demo) steers a simulated device.
#[derive(Clone)]
pub enum SimControl {
    Bme280(drivers::sim::SimBme280Control),
    Scd4x(SimScd4xControl),
    Ds18b20(SimDs18b20Control),
    Pin(drivers::sim::SimPinControl),
}

/// A polled device ready for a bus thread.
pub struct Polled {
    /// Devices with the same key share a thread (one physical bus).
    pub bus_key: String,
    pub open: Opener,
    pub sim: Option<SimControl>,
}

/// Simulated buses shared by all simulated devices of this gateway.
#[derive(Default)]
pub struct SimBuses {
    w1: Option<SimW1Bus>,
}

pub fn polled(s: &SensorSettings, sims: &mut SimBuses) -> Result<Polled, String> {
    match &s.device {
        Device::Bme280 { bus, address } => Ok(bme280(bus, *address, &s.sim)),
        Device::Scd4x { bus } => Ok(scd4x(bus, &s.sim)),
        Device::Ds18b20 { id, w1 } => ds18b20(id, w1, &s.sim, sims),
        Device::GpioInput(_) => Err("a GPIO input is not polled on a bus".into()),
    }
}

fn drift(sim: &SimSettings) -> Drift {
    Drift {
        amplitude: sim.drift,
        period: sim.drift_period,
    }
}

/// A device on a Linux I2C bus, opened afresh (new file descriptor, re-probed) on each attempt.
fn linux_i2c(
    path: &Path,
    make: impl Fn(I2cdev) -> Result<Box<dyn Sensor>, SensorError> + Send + 'static,
) -> Polled {
    let path = path.to_path_buf();
    Polled {
        bus_key: path.display().to_string(),
        open: Box::new(move || make(crate::hw::i2c::open(&path)?)),
        sim: None,
    }
}

/// A simulated I2C device that outlives each driver instance, as a real chip would.
fn sim_i2c<T: Send + 'static>(
    device: T,
    make: impl Fn(SharedI2c<T>) -> Result<Box<dyn Sensor>, SensorError> + Send + 'static,
    control: SimControl,
) -> Polled {
    let shared = SharedI2c::new(device);
    Polled {
        bus_key: "sim-i2c".into(),
        open: Box::new(move || make(shared.clone())),
        sim: Some(control),
    }
}

fn bme280(bus: &I2cBus, address: u8, sim: &SimSettings) -> Polled {
    use drivers::bme280::Bme280Sensor;
    fn open<I: embedded_hal::i2c::I2c + Send + 'static>(
        i2c: I,
        address: u8,
    ) -> Result<Box<dyn Sensor>, SensorError> {
        Ok(Box::new(Bme280Sensor::new(i2c, address, ThreadDelay)?))
    }
    match bus {
        I2cBus::Dev(path) => linux_i2c(path, move |i2c| open(i2c, address)),
        I2cBus::Sim => {
            let chip = if sim.bmp280 {
                SimChip::Bmp280
            } else {
                SimChip::Bme280
            };
            let (device, control) = SimBme280::new(address, chip);
            control.set_environment(
                sim.value(Quantity::Temperature),
                sim.value(Quantity::Humidity),
                sim.value(Quantity::Pressure),
            );
            control.set_temperature_drift(drift(sim));
            sim_i2c(
                device,
                move |i2c| open(i2c, address),
                SimControl::Bme280(control),
            )
        }
    }
}

fn scd4x(bus: &I2cBus, sim: &SimSettings) -> Polled {
    match bus {
        I2cBus::Dev(path) => {
            linux_i2c(path, |i2c| Ok(Box::new(Scd4xSensor::new(i2c, ThreadDelay))))
        }
        I2cBus::Sim => {
            let device = SimScd4x::new();
            let control = device.control();
            control.set_environment(
                sim.value(Quantity::Co2),
                sim.value(Quantity::Temperature),
                sim.value(Quantity::Humidity),
            );
            control.set_co2_drift(drift(sim));
            sim_i2c(
                device,
                |i2c| Ok(Box::new(Scd4xSensor::new(i2c, ThreadDelay))),
                SimControl::Scd4x(control),
            )
        }
    }
}

fn ds18b20(
    id: &str,
    w1: &W1Root,
    sim: &SimSettings,
    sims: &mut SimBuses,
) -> Result<Polled, String> {
    match w1 {
        W1Root::Sysfs(root) => {
            let (root, id) = (root.clone(), id.to_string());
            Ok(Polled {
                bus_key: format!("w1:{}", root.display()),
                open: Box::new(move || {
                    Ds18b20::new(&root, &id)
                        .map(|d| Box::new(d) as Box<dyn Sensor>)
                        .map_err(|e| SensorError::WrongDevice(e.to_string()))
                }),
                sim: None,
            })
        }
        W1Root::Sim => {
            let bus = match &mut sims.w1 {
                Some(bus) => bus,
                None => sims.w1.insert(
                    SimW1Bus::new()
                        .map_err(|e| format!("cannot create the simulated 1-wire bus: {e}"))?,
                ),
            };
            let control = bus
                .add_probe(id)
                .map_err(|e| format!("cannot add simulated probe {id}: {e}"))?;
            control
                .set_temperature(sim.value(Quantity::Temperature))
                .and_then(|()| control.set_drift(drift(sim)))
                .map_err(|e| format!("cannot write simulated probe {id}: {e}"))?;
            let root: PathBuf = bus.root().to_path_buf();
            let (id, refresh) = (id.to_string(), control.clone());
            Ok(Polled {
                bus_key: "sim-w1".into(),
                open: Box::new(move || {
                    let probe = Ds18b20::new(&root, &id)
                        .map_err(|e| SensorError::WrongDevice(e.to_string()))?;
                    Ok(Box::new(RefreshedProbe {
                        probe,
                        control: refresh.clone(),
                    }) as Box<dyn Sensor>)
                }),
                sim: Some(SimControl::Ds18b20(control)),
            })
        }
    }
}

/// A simulated probe's file is rewritten before each read, so drift shows as it would.
struct RefreshedProbe {
    probe: Ds18b20,
    control: SimDs18b20Control,
}

impl Sensor for RefreshedProbe {
    fn quantities(&self) -> &[Quantity] {
        self.probe.quantities()
    }

    fn read(&mut self) -> Result<Vec<Measurement>, SensorError> {
        // A failed rewrite (the bus was dropped at shutdown) shows up as a failed read.
        let _ = self.control.refresh();
        self.probe.read()
    }
}
