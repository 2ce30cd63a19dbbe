//! `[[sensor]]` entries: one per device, each checked on its own so every mistake is reported.

use std::path::PathBuf;
use std::time::Duration;

use drivers::gpio_input::UnknownPayload;
use drivers::{InputPayload, Quantity};
use toml::de::DeValue;

use super::error::{excerpt, ErrorSink};
use super::pin;
use super::reader::TableReader;
use super::unique::Unique;
use crate::sensors::settings::{
    Device, Format, GpioInputSettings, I2cBus, PublishSettings, Pull, SensorSettings, SimSettings,
    W1Root,
};
use broker::QoS;

const DRIVERS: &str = "bme280, scd4x, ds18b20, gpio_input";
/// Keys that only some drivers take.
const DRIVER_KEYS: [&str; 9] = [
    "bus",
    "address",
    "id",
    "w1",
    "pin",
    "pull",
    "active_low",
    "debounce",
    "payload",
];
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_W1_ROOT: &str = "/sys/bus/w1/devices";

pub(crate) fn read_all(tables: Vec<TableReader>, errs: &mut ErrorSink) -> Vec<SensorSettings> {
    let mut sensors = Vec::new();
    let mut names = Unique::new();
    let mut topics = Unique::new();
    for mut t in tables {
        let (identity, sensor) = read_one(&mut t, errs);
        // Checked even when the entry has other errors, so one run reports them all.
        if let Some(name) = identity.name {
            names.insert(errs, &t, "name", name.clone(), |first| {
                format!(
                    "\"{}\" is already the name of {first}; names must be unique",
                    excerpt(&name)
                )
            });
        }
        if let Some(topic) = identity.topic {
            topics.insert(errs, &t, "topic", topic.clone(), |first| {
                format!(
                    "\"{}\" is already used by {first}; two sensors would overwrite each other's readings",
                    excerpt(&topic)
                )
            });
        }
        t.finish(errs);
        sensors.extend(sensor);
    }
    sensors
}

/// The keys that must be unique across sensors, as far as they could be read.
struct Identity {
    name: Option<String>,
    topic: Option<String>,
}

fn read_one(t: &mut TableReader, errs: &mut ErrorSink) -> (Identity, Option<SensorSettings>) {
    let name = required_string(t, errs, "name").and_then(|(name, span)| match check_name(&name) {
        Ok(()) => Some(name),
        Err(why) => {
            errs.report(&t.key_path("name"), span, why);
            None
        }
    });
    let topic =
        required_string(t, errs, "topic").and_then(|(topic, span)| {
            match check_base_topic(&topic) {
                Ok(()) => Some(topic),
                Err(why) => {
                    errs.report(&t.key_path("topic"), span, why);
                    None
                }
            }
        });
    let interval = t.duration(errs, "interval").unwrap_or(DEFAULT_INTERVAL);
    if interval < Duration::from_millis(100) {
        errs.report(
            &t.key_path("interval"),
            t.span_of("interval"),
            "must be at least \"100ms\"; sensors this fast would flood the network",
        );
    }
    let device = read_device(t, errs);
    let publish = read_publish(t, errs);
    let sim = read_sim(t, errs);
    let identity = Identity {
        name: name.clone(),
        topic: topic.clone(),
    };
    let sensor = match (name, topic, device) {
        (Some(name), Some(topic), Some(device)) => Some(SensorSettings {
            name,
            topic,
            interval,
            device,
            publish,
            sim,
        }),
        _ => None,
    };
    (identity, sensor)
}

fn required_string(
    t: &mut TableReader,
    errs: &mut ErrorSink,
    key: &'static str,
) -> Option<(String, std::ops::Range<usize>)> {
    t.required_string(errs, key, "[[sensor]]")
        .map(|(s, span)| (s.to_string(), span))
}

fn read_device(t: &mut TableReader, errs: &mut ErrorSink) -> Option<Device> {
    let (driver, span) = required_string(t, errs, "driver")?;
    match driver.as_str() {
        "bme280" => {
            let bus = read_i2c_bus(t, errs)?;
            let address = match t.integer::<u8>(errs, "address", 0..=0x7f) {
                Some(a @ (0x76 | 0x77)) => a,
                Some(a) => {
                    errs.report(
                        &t.key_path("address"),
                        t.span_of("address"),
                        format!("0x{a:02x} is not a BME280 address; the chip answers at 0x76 (SDO to GND) or 0x77 (SDO to VCC)"),
                    );
                    return None;
                }
                None if t.raw("address").is_some() => return None,
                None => 0x76,
            };
            Some(Device::Bme280 { bus, address })
        }
        "scd4x" => Some(Device::Scd4x {
            bus: read_i2c_bus(t, errs)?,
        }),
        "ds18b20" => {
            let w1 = match t.string(errs, "w1") {
                Some(("sim", _)) => W1Root::Sim,
                Some((path, _)) => W1Root::Sysfs(PathBuf::from(path)),
                None => W1Root::Sysfs(PathBuf::from(DEFAULT_W1_ROOT)),
            };
            let (id, span) = required_string(t, errs, "id")?;
            let id = match drivers::ds18b20::parse_id(&id) {
                Ok(id) => id,
                Err(e) => {
                    // The driver's message, quoting a short prefix of the id.
                    let quoted = drivers::ds18b20::InvalidProbeId(excerpt(&e.0).into_owned());
                    errs.report(&t.key_path("id"), span, quoted.to_string());
                    return None;
                }
            };
            Some(Device::Ds18b20 { id, w1 })
        }
        "gpio_input" => read_gpio_input(t, errs).map(Device::GpioInput),
        other => {
            errs.report(
                &t.key_path("driver"),
                span,
                format!(
                    "unknown driver \"{}\"; use one of: {DRIVERS}",
                    excerpt(other)
                ),
            );
            t.accept(&DRIVER_KEYS);
            None
        }
    }
}

/// `bus = 1` (`/dev/i2c-1`), `bus = "/dev/i2c-1"`, or `bus = "sim"`; the Pi's header bus is 1.
fn read_i2c_bus(t: &mut TableReader, errs: &mut ErrorSink) -> Option<I2cBus> {
    let Some(v) = t.raw("bus") else {
        return Some(I2cBus::Dev(PathBuf::from("/dev/i2c-1")));
    };
    match v.get_ref() {
        DeValue::String(s) if s.as_ref() == "sim" => Some(I2cBus::Sim),
        DeValue::String(s) if s.starts_with("/dev/") => {
            Some(I2cBus::Dev(PathBuf::from(s.as_ref())))
        }
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n @ 0..=255) => Some(I2cBus::Dev(PathBuf::from(format!("/dev/i2c-{n}")))),
            _ => {
                errs.report(
                    &t.key_path("bus"),
                    v.span(),
                    format!("{} is not an I2C bus number", excerpt(&i.to_string())),
                );
                None
            }
        },
        _ => {
            errs.report(
                &t.key_path("bus"),
                v.span(),
                "must be a bus number (1 for the Pi's header), a path like \"/dev/i2c-1\", or \"sim\"",
            );
            None
        }
    }
}

fn read_gpio_input(t: &mut TableReader, errs: &mut ErrorSink) -> Option<GpioInputSettings> {
    let pin = pin::read(
        t,
        errs,
        53,
        "missing; a gpio_input needs the BCM `pin` number",
    );
    let pull = match t.string(errs, "pull") {
        None | Some(("none", _)) => Pull::None,
        Some(("up", _)) => Pull::Up,
        Some(("down", _)) => Pull::Down,
        Some((other, span)) => {
            errs.report(
                &t.key_path("pull"),
                span,
                format!(
                    "\"{}\" is not a pull; use \"up\", \"down\" or \"none\"",
                    excerpt(other)
                ),
            );
            Pull::None
        }
    };
    let active_low = t.boolean(errs, "active_low").unwrap_or(false);
    let debounce = t
        .duration(errs, "debounce")
        .unwrap_or(Duration::from_millis(50));
    let payload = match t.string(errs, "payload") {
        None => InputPayload::default(),
        Some((text, span)) => text.parse().unwrap_or_else(|e: UnknownPayload| {
            let quoted = UnknownPayload(excerpt(&e.0).into_owned());
            errs.report(&t.key_path("payload"), span, quoted.to_string());
            InputPayload::default()
        }),
    };
    Some(GpioInputSettings {
        pin: pin?,
        pull,
        active_low,
        debounce,
        payload,
    })
}

fn read_publish(t: &mut TableReader, errs: &mut ErrorSink) -> PublishSettings {
    let mut p = PublishSettings::default();
    if let Some(r) = t.boolean(errs, "retain") {
        p.retain = r;
    }
    if let Some(q) = t.integer::<u8>(errs, "qos", 0..=2) {
        p.qos = QoS::from_u8(q).unwrap_or(QoS::AtMostOnce);
    }
    match t.string(errs, "format") {
        None | Some(("plain", _)) => {}
        Some(("json", _)) => p.format = Format::Json,
        Some((other, span)) => errs.report(
            &t.key_path("format"),
            span,
            format!(
                "\"{}\" is not a format; use \"plain\" (the number) or \"json\"",
                excerpt(other)
            ),
        ),
    }
    p.decimals = t.integer::<u32>(errs, "decimals", 0..=6);
    if let Some(d) = t.float(errs, "deadband") {
        if d < 0.0 {
            errs.report(
                &t.key_path("deadband"),
                t.span_of("deadband"),
                "must not be negative",
            );
        } else {
            p.deadband = d;
        }
    }
    if let Some(h) = t.duration(errs, "heartbeat") {
        p.heartbeat = h;
    }
    if let Some(n) = t.integer::<usize>(errs, "average", 1..=1000) {
        p.average = n;
    }
    if let Some(mut offsets) = t.table(errs, "offset") {
        for q in Quantity::ALL {
            if let Some(v) = offsets.float(errs, q.topic_suffix()) {
                p.offsets.push((q, v));
            }
        }
        offsets.finish(errs);
    }
    p
}

fn read_sim(t: &mut TableReader, errs: &mut ErrorSink) -> SimSettings {
    let mut sim = SimSettings::default();
    let Some(mut s) = t.table(errs, "sim") else {
        return sim;
    };
    for q in Quantity::ALL {
        if let Some(v) = s.float(errs, q.topic_suffix()) {
            sim.values.push((q, v));
        }
    }
    if let Some(d) = s.float(errs, "drift") {
        sim.drift = d.abs();
    }
    if let Some(p) = s.duration(errs, "drift_period") {
        sim.drift_period = p;
    }
    sim.toggle_every = s.duration(errs, "toggle_every");
    match s.string(errs, "chip") {
        None | Some(("bme280", _)) => {}
        Some(("bmp280", _)) => sim.bmp280 = true,
        Some((other, span)) => errs.report(
            &s.key_path("chip"),
            span,
            format!(
                "\"{}\" is not a simulated chip; use \"bme280\" or \"bmp280\"",
                excerpt(other)
            ),
        ),
    }
    s.finish(errs);
    sim
}

/// Names become Home Assistant object ids and log fields: keep them plain.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "\"{}\" may only contain letters, digits, '-' and '_' (it becomes an id in Home Assistant)",
            excerpt(name)
        ));
    }
    Ok(())
}

/// A base topic the entry publishes under (`<topic>/temperature`, `<topic>/state`).
pub(super) fn check_base_topic(topic: &str) -> Result<(), String> {
    let quoted = excerpt(topic);
    if let Err(e) = ::broker::topic::validate_topic_name(topic) {
        return Err(format!("\"{quoted}\": {e}"));
    }
    if topic.starts_with('$') {
        return Err(format!(
            "\"{quoted}\" starts with '$', which wildcard subscribers never see"
        ));
    }
    if topic.ends_with('/') {
        return Err(format!(
            "\"{quoted}\" ends with '/'; write the base topic without it, like \"Kitchen/Fridge\""
        ));
    }
    Ok(())
}
