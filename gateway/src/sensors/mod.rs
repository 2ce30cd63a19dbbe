//! Reading the sensors wired to the Pi (or simulated) and publishing their readings.
//!
//! ```text
//! bus thread per bus (worker.rs) ──Sample──┐
//! GPIO poll thread (inputs.rs) ──InputChange──▶ publishing task (publisher.rs) ──▶ broker
//! MQTT commands to simulated devices (sim_control.rs) ──┘         └─ discovery.rs
//! ```

pub mod device;
pub mod discovery;
pub mod inputs;
pub mod payload;
pub mod policy;
pub mod publisher;
pub mod settings;
pub mod sim_control;
pub mod worker;

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use drivers::sim::SimPin;
use drivers::{Quantity, SensorError};
use log::{info, warn};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::homeassistant;
use crate::hw::gpio::{self, AnyInputPin};
use broker::{BrokerHandle, QoS, Subscription};
use device::{SimBuses, SimControl};
use discovery::Discovery;
use inputs::WatchedInput;
use publisher::Publisher;
use settings::{Device, Pin};
use sim_control::SimDevice;
use worker::Slot;

/// Samples waiting for the publishing task; bus threads wait when it is full.
const BACKLOG: usize = 256;

/// The running sensor side of the gateway.
pub struct Sensors {
    stops: Vec<std_mpsc::Sender<()>>,
    input_waker: Option<std_mpsc::Sender<inputs::Wake>>,
    threads: Vec<JoinHandle<()>>,
    task: tokio::task::JoinHandle<()>,
    shutdown: CancellationToken,
    /// Keeps the simulated 1-wire files alive while the probes are read.
    _sim_buses: SimBuses,
}

impl Sensors {
    pub async fn start(config: &Config, broker: BrokerHandle) -> anyhow::Result<Sensors> {
        let mut sim_buses = SimBuses::default();
        let mut sims: HashMap<String, SimDevice> = HashMap::new();
        let mut buses: BTreeMap<String, Vec<Slot>> = BTreeMap::new();
        let mut watched = Vec::new();
        let (wake, woken) = std_mpsc::channel::<inputs::Wake>();
        for (index, s) in config.sensors.iter().enumerate() {
            match &s.device {
                Device::GpioInput(g) => {
                    let (open, sim_toggle): (inputs::PinOpener, _) = match g.pin {
                        Pin::Sim => {
                            let pin = SimPin::new(g.active_low);
                            let control = pin.control();
                            sims.insert(
                                s.name.clone(),
                                sim_device(SimControl::Pin(control.clone()), s),
                            );
                            let mut pin = Some(pin);
                            let open = Box::new(move || {
                                pin.take().map(AnyInputPin::Sim).ok_or_else(|| {
                                    SensorError::Io("the simulated pin was already claimed".into())
                                })
                            });
                            (open, s.sim.toggle_every.map(|every| (control, every)))
                        }
                        Pin::Bcm(bcm) => {
                            let pull = g.pull;
                            let wake = wake.clone();
                            let open = Box::new(move || {
                                let wake = wake.clone();
                                gpio::open_input(bcm, pull, move || {
                                    let _ = wake.send(inputs::Wake::Edge);
                                })
                            });
                            (open, None)
                        }
                    };
                    watched.push(WatchedInput::new(
                        index,
                        open,
                        g.active_low,
                        g.debounce,
                        sim_toggle,
                    ));
                }
                _ => {
                    let polled = device::polled(s, &mut sim_buses)
                        .map_err(|e| anyhow!("sensor {}: {e}", s.name))?;
                    if let Some(control) = polled.sim {
                        sims.insert(s.name.clone(), sim_device(control, s));
                    }
                    buses.entry(polled.bus_key).or_default().push(Slot::new(
                        index,
                        s.interval,
                        polled.open,
                    ));
                }
            }
        }

        let (sample_tx, samples) = mpsc::channel(BACKLOG);
        let (input_tx, input_changes) = mpsc::channel(BACKLOG);
        let mut stops = Vec::new();
        let mut threads = Vec::new();
        for (bus, slots) in buses {
            let (stop, stopped) = std_mpsc::channel();
            let tx = sample_tx.clone();
            let thread = std::thread::Builder::new()
                .name(format!("bus {bus}"))
                .spawn(move || worker::run(slots, tx, stopped))
                .with_context(|| format!("starting the thread for bus {bus}"))?;
            info!("reading sensors on bus={bus}");
            stops.push(stop);
            threads.push(thread);
        }
        let mut input_waker = None;
        if !watched.is_empty() {
            let thread = std::thread::Builder::new()
                .name("gpio inputs".into())
                .spawn(move || inputs::run(watched, input_tx, woken))
                .context("starting the GPIO input thread")?;
            input_waker = Some(wake.clone());
            threads.push(thread);
        }

        let mut discovery = config.discovery.enabled.then(|| {
            Discovery::new(
                &config.discovery,
                &config.gateway.name,
                config.gateway.state_dir.clone(),
            )
        });
        if let Some(d) = &mut discovery {
            d.remove_departed(&config.sensors, &broker).await;
        }
        let births = match &discovery {
            Some(d) => Some(broker.subscribe(&d.birth_topic(), QoS::AtLeastOnce).await?),
            None => None,
        };
        let commands = if sims.is_empty() {
            None
        } else {
            let filter = sim_control::command_filter(&config.gateway.name);
            info!("simulated sensors take commands on {filter}");
            Some(broker.subscribe(&filter, QoS::AtLeastOnce).await?)
        };
        let shutdown = CancellationToken::new();
        let run = PublishingTask {
            publisher: Publisher::new(&config.sensors, broker.clone()),
            sensors: config.sensors.clone(),
            discovery,
            announced: HashMap::new(),
            broker,
            sims,
            input_waker: input_waker.clone(),
        };
        let task =
            tokio::spawn(run.run(samples, input_changes, commands, births, shutdown.clone()));
        Ok(Sensors {
            stops,
            input_waker,
            threads,
            task,
            shutdown,
            _sim_buses: sim_buses,
        })
    }

    /// Stops reading and marks every sensor offline.
    pub async fn stop(self) {
        for stop in &self.stops {
            let _ = stop.send(());
        }
        if let Some(w) = &self.input_waker {
            let _ = w.send(inputs::Wake::Stop);
        }
        self.shutdown.cancel();
        let _ = self.task.await;
        // Bus threads notice the stop within one read; joining off the runtime keeps it free.
        let threads = self.threads;
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}

fn sim_device(control: SimControl, s: &settings::SensorSettings) -> SimDevice {
    let values = Quantity::ALL
        .into_iter()
        .map(|q| (q, s.sim.value(q)))
        .collect();
    SimDevice { control, values }
}

struct PublishingTask {
    publisher: Publisher,
    sensors: Vec<settings::SensorSettings>,
    discovery: Option<Discovery>,
    /// Quantities each sensor was announced to Home Assistant with.
    announced: HashMap<usize, Vec<Quantity>>,
    broker: BrokerHandle,
    sims: HashMap<String, SimDevice>,
    /// Wakes the input thread after a simulated input was steered.
    input_waker: Option<std_mpsc::Sender<inputs::Wake>>,
}

impl PublishingTask {
    async fn run(
        mut self,
        mut samples: mpsc::Receiver<worker::Sample>,
        mut inputs: mpsc::Receiver<inputs::InputChange>,
        mut commands: Option<Subscription>,
        mut births: Option<Subscription>,
        shutdown: CancellationToken,
    ) {
        let mut heartbeat = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                Some(sample) = samples.recv() => {
                    if let Ok(ms) = &sample.result {
                        let quantities: Vec<Quantity> = ms.iter().map(|m| m.quantity).collect();
                        self.announce(sample.sensor, quantities).await;
                    }
                    self.publisher.on_sample(sample).await;
                }
                Some(change) = inputs.recv() => {
                    if change.result.is_ok() {
                        self.announce(change.sensor, Vec::new()).await;
                    }
                    self.publisher.on_input(change).await;
                }
                Some(message) = next_message(&mut commands) => self.command(&message.topic, &message.payload),
                Some(message) = next_message(&mut births) => {
                    if homeassistant::is_birth(&message) {
                        self.reannounce().await;
                    }
                }
                _ = heartbeat.tick() => self.publisher.input_heartbeats(Instant::now()).await,
            }
        }
        self.publisher.all_offline().await;
    }

    /// Announces a sensor to Home Assistant the first time it reads, with what it reports
    /// (a BMP280 wired where a BME280 was configured gets no humidity entity).
    async fn announce(&mut self, index: usize, quantities: Vec<Quantity>) {
        let Some(d) = &mut self.discovery else { return };
        if self.announced.get(&index) == Some(&quantities) {
            return;
        }
        if let Some(s) = self.sensors.get(index) {
            d.announce(s, &quantities, &self.broker).await;
            self.announced.insert(index, quantities);
        }
    }

    /// Home Assistant (re)started: send it every document again, and the removals.
    async fn reannounce(&mut self) {
        let Some(d) = &mut self.discovery else { return };
        info!("Home Assistant came online; announcing sensors again");
        d.clear_departed(&self.broker).await;
        for (&index, quantities) in &self.announced {
            if let Some(s) = self.sensors.get(index) {
                d.announce(s, quantities, &self.broker).await;
            }
        }
    }

    fn command(&mut self, topic: &str, payload: &[u8]) {
        let Some(name) = sim_control::sensor_of(topic) else {
            return;
        };
        let Some(device) = self.sims.get_mut(name) else {
            warn!("no simulated sensor named {name} topic={topic}");
            return;
        };
        let text = String::from_utf8_lossy(payload);
        match sim_control::apply(device, &text) {
            Ok(()) => {
                info!("simulated sensor updated sensor={name} command=\"{text}\"");
                if let (SimControl::Pin(_), Some(w)) = (&device.control, &self.input_waker) {
                    let _ = w.send(inputs::Wake::Edge);
                }
            }
            Err(e) => warn!("ignored command for simulated sensor sensor={name}: {e}"),
        }
    }
}

async fn next_message(subscription: &mut Option<Subscription>) -> Option<broker::Message> {
    match subscription {
        Some(c) => c.recv().await,
        None => std::future::pending().await,
    }
}
