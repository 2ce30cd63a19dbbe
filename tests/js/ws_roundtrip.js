// MQTT.js over ws:// against Hearth: subscribes, gets the retained message the test left,
// publishes at QoS 1 and 2 and gets both back, printing one line per event for the Rust test
// (tests/tests/e2e/mqttjs.rs) to check. Usage: node ws_roundtrip.js ws://127.0.0.1:PORT/mqtt
'use strict';

const mqtt = require('mqtt');

const url = process.argv[2];
if (!url) {
  console.error('usage: node ws_roundtrip.js ws://HOST:PORT/PATH');
  process.exit(64);
}
// Bounded: the test fails with what was printed so far instead of hanging.
const giveUp = setTimeout(() => {
  console.error('timed out');
  process.exit(2);
}, 30000);

const client = mqtt.connect(url, {
  protocolVersion: 4,
  clientId: 'mqttjs-roundtrip',
  clean: true,
  reconnectPeriod: 0,
  connectTimeout: 20000,
});
const waiting = new Set(['mqttjs/retained', 'mqttjs/echo/1', 'mqttjs/echo/2']);

client.on('connect', (connack) => {
  console.log(`connected session_present=${connack.sessionPresent}`);
  client.subscribe('mqttjs/#', { qos: 2 }, (err, granted) => {
    if (err) {
      console.error(`subscribe failed: ${err.message}`);
      process.exit(1);
    }
    console.log(`subscribed ${granted.map((g) => `${g.topic}:${g.qos}`).join(' ')}`);
    for (const qos of [1, 2]) {
      client.publish(`mqttjs/echo/${qos}`, `hello at QoS ${qos}`, { qos }, (err) => {
        if (err) {
          console.error(`publish failed: ${err.message}`);
          process.exit(1);
        }
        console.log(`published mqttjs/echo/${qos}`);
      });
    }
  });
});

client.on('message', (topic, payload, packet) => {
  console.log(`received ${topic} qos=${packet.qos} retain=${packet.retain} ${payload}`);
  waiting.delete(topic);
  if (waiting.size === 0) {
    clearTimeout(giveUp);
    // Not from inside this handler: MQTT.js sends the QoS 2 PUBCOMP after it returns, and
    // would then write it after its DISCONNECT, to a connection the broker has closed.
    setImmediate(() => client.end(false, () => process.exit(0)));
  }
});

client.on('error', (err) => {
  console.error(`error: ${err.message}`);
  process.exit(1);
});
