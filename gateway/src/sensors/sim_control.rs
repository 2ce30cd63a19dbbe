//! Steering simulated devices over MQTT: `hearth/<gateway>/sim/<sensor>/set` with a payload such
//! as `fault=nack`, `temperature=5.5 humidity=60`, `co2=1400` or `input=on`. Only simulated
//! sensors listen, so a real gateway cannot be fooled this way.

use std::collections::HashMap;

use drivers::sim::Fault;
use drivers::Quantity;

use super::device::SimControl;
use crate::config::excerpt;

pub fn command_filter(gateway_name: &str) -> String {
    format!("hearth/{gateway_name}/sim/+/set")
}

/// The sensor a command topic addresses.
pub fn sensor_of(topic: &str) -> Option<&str> {
    let mut levels = topic.rsplit('/');
    match (levels.next(), levels.next()) {
        (Some("set"), Some(name)) => Some(name),
        _ => None,
    }
}

/// A simulated device and the environment it currently simulates.
pub struct SimDevice {
    pub control: SimControl,
    pub values: HashMap<Quantity, f64>,
}

/// Applies `payload` to `device`, or says what was wrong with it.
pub fn apply(device: &mut SimDevice, payload: &str) -> Result<(), String> {
    for item in payload.split([' ', ',', ';']).filter(|s| !s.is_empty()) {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| format!("\"{}\" is not key=value", excerpt(item)))?;
        match key {
            // Every fault name is short, so its excerpt parses alike, and the error quotes no more.
            "fault" => set_fault(&device.control, excerpt(value).parse::<Fault>()?)?,
            "input" => match &device.control {
                SimControl::Pin(pin) => pin.set_level(matches!(
                    value.to_ascii_lowercase().as_str(),
                    "on" | "1" | "high" | "true" | "open"
                )),
                _ => return Err("`input` applies to simulated GPIO inputs only".into()),
            },
            name => {
                let q = Quantity::from_name(name).ok_or_else(|| {
                    format!("unknown key \"{}\"; use fault, input, temperature, humidity, pressure or co2", excerpt(name))
                })?;
                let v: f64 = value
                    .parse()
                    .map_err(|_| format!("\"{}\" is not a number", excerpt(value)))?;
                device.values.insert(q, v);
            }
        }
    }
    set_environment(device)
}

fn value(device: &SimDevice, q: Quantity) -> f64 {
    device.values.get(&q).copied().unwrap_or(0.0)
}

fn set_environment(device: &SimDevice) -> Result<(), String> {
    use Quantity::*;
    match &device.control {
        SimControl::Bme280(c) => c.set_environment(
            value(device, Temperature),
            value(device, Humidity),
            value(device, Pressure),
        ),
        SimControl::Scd4x(c) => c.set_environment(
            value(device, Co2),
            value(device, Temperature),
            value(device, Humidity),
        ),
        SimControl::Ds18b20(c) => c
            .set_temperature(value(device, Temperature))
            .map_err(|e| e.to_string())?,
        SimControl::Pin(_) => {}
    }
    Ok(())
}

fn set_fault(control: &SimControl, fault: Fault) -> Result<(), String> {
    match control {
        SimControl::Bme280(c) => c.set_fault(fault),
        SimControl::Scd4x(c) => c.set_fault(fault),
        SimControl::Ds18b20(c) => c.set_fault(fault).map_err(|e| e.to_string())?,
        SimControl::Pin(_) => {
            return Err("simulated GPIO inputs take `input=on|off`, not faults".into())
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_topics_name_their_sensor() {
        assert_eq!(sensor_of("hearth/pi/sim/fridge/set"), Some("fridge"));
        assert_eq!(sensor_of("hearth/pi/sim/fridge/get"), None);
    }

    #[test]
    fn payloads_are_checked() {
        let pin = drivers::sim::SimPin::new(false);
        let mut device = SimDevice {
            control: SimControl::Pin(pin.control()),
            values: HashMap::new(),
        };
        assert!(apply(&mut device, "input=on").is_ok());
        assert!(pin.control().is_high());
        assert!(apply(&mut device, "fault=nack").is_err());
        assert!(apply(&mut device, "warmth=3").is_err());
        assert!(apply(&mut device, "temperature").is_err());
        for huge in [
            "x".repeat(100_000),
            format!("fault={}", "x".repeat(100_000)),
            format!("temperature={}", "x".repeat(100_000)),
            format!("{}=1", "x".repeat(100_000)),
        ] {
            let e = apply(&mut device, &huge).expect_err("not a command");
            assert!(e.len() < 200 && e.contains('…'), "{e}");
        }
    }
}
