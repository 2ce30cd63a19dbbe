// MQTT.js with protocolVersion 5 against Hearth, one client over TCP and one over WebSocket
// (run by tests/tests/e2e/mqtt5/mqttjs.rs). Each subscribes to mqttjs5/# with No Local,
// Retain As Published and Retain Handling 0, gets the retained message the Rust test left,
// publishes a message with properties, and must receive the other's message with its
// properties unchanged and never its own: a marker it publishes to itself after its own
// message would come after it. One line is printed per event for the Rust test to check;
// any mismatch exits non-zero with the reason.
// Usage: node v5_roundtrip.js mqtt://127.0.0.1:PORT ws://127.0.0.1:PORT/mqtt
'use strict';

const mqtt = require('mqtt');

const [tcpUrl, wsUrl] = process.argv.slice(2);
if (!tcpUrl || !wsUrl) {
  console.error('usage: node v5_roundtrip.js mqtt://HOST:PORT ws://HOST:PORT/PATH');
  process.exit(64);
}
// Bounded: the test fails with what was printed so far instead of hanging.
const giveUp = setTimeout(() => {
  console.error('timed out');
  process.exit(2);
}, 30000);

function fail(message) {
  console.error(`FAILED: ${message}`);
  process.exit(1);
}

// The properties each client publishes with; User Properties with a repeated name.
function sentProperties(name) {
  return {
    payloadFormatIndicator: true,
    messageExpiryInterval: 3600,
    contentType: 'application/json',
    responseTopic: `mqttjs5/reply/${name}`,
    correlationData: Buffer.from(`corr-${name}`),
    userProperties: { origin: name, dup: ['1', '2'] },
  };
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// What the broker forwarded, against what `name` sent (MQTT-3.3.2-4, MQTT-3.3.2-17/18): the
// same, but for the Message Expiry Interval, which is what is left of it (MQTT-3.3.2-6).
function checkForwarded(name, props) {
  const want = sentProperties(name);
  const got = props || {};
  if (got.payloadFormatIndicator !== true) fail(`payloadFormatIndicator ${got.payloadFormatIndicator}`);
  if (got.contentType !== want.contentType) fail(`contentType ${got.contentType}`);
  if (got.responseTopic !== want.responseTopic) fail(`responseTopic ${got.responseTopic}`);
  if (!Buffer.isBuffer(got.correlationData) || !got.correlationData.equals(want.correlationData)) {
    fail(`correlationData ${got.correlationData}`);
  }
  if (!same(got.userProperties, want.userProperties)) {
    fail(`userProperties ${JSON.stringify(got.userProperties)}`);
  }
  const left = got.messageExpiryInterval;
  if (typeof left !== 'number' || left > want.messageExpiryInterval) {
    fail(`messageExpiryInterval ${left}`);
  }
  if (got.topicAlias !== undefined) fail(`topicAlias ${got.topicAlias} sent to a client that allows none`);
}

const clients = {};
let subscribed = 0;
let done = 0;

function start(name, url, other) {
  const marker = `$mqttjs5-marker/${name}`;
  const state = { retained: false, other: false, marker: false, own: 0, finished: false };
  const client = mqtt.connect(url, {
    protocolVersion: 5,
    clientId: `mqttjs5-${name}`,
    clean: true,
    properties: { sessionExpiryInterval: 60 },
    reconnectPeriod: 0,
    connectTimeout: 20000,
  });
  clients[name] = { client, marker, state };

  client.on('connect', (connack) => {
    const p = connack.properties || {};
    console.log(
      `connected ${name} session_present=${connack.sessionPresent} ` +
        `receiveMaximum=${p.receiveMaximum} topicAliasMaximum=${p.topicAliasMaximum}`,
    );
    const subscriptions = {
      'mqttjs5/#': { qos: 1, nl: true, rap: true, rh: 0 },
      [marker]: { qos: 1 },
    };
    client.subscribe(subscriptions, (err, granted) => {
      if (err) fail(`${name} subscribe: ${err.message}`);
      console.log(`subscribed ${name} ${granted.map((g) => `${g.topic}:${g.qos}`).join(' ')}`);
      subscribed += 1;
      // Both subscribed before either publishes, so that neither misses the other's message.
      if (subscribed === 2) {
        for (const c of Object.keys(clients)) publishOwn(c);
      }
    });
  });

  client.on('message', (topic, payload, packet) => {
    if (topic === marker) {
      state.marker = true;
      console.log(`marker ${name} own_messages=${state.own}`);
      if (state.own !== 0) fail(`${name} got its own message despite No Local (MQTT-3.8.3-3)`);
    } else if (topic === `mqttjs5/from-${name}`) {
      state.own += 1;
      console.log(`received-own ${name} ${topic}`);
    } else if (topic === `mqttjs5/from-${other}`) {
      checkForwarded(other, packet.properties);
      state.other = true;
      console.log(`received ${name} ${topic} qos=${packet.qos} retain=${packet.retain} properties unchanged ${payload}`);
    } else if (topic === 'mqttjs5/retained') {
      const p = packet.properties || {};
      if (p.contentType !== 'text/plain' || !same(p.userProperties, { left: 'rust' })) {
        fail(`${name} retained message properties ${JSON.stringify(p)}`);
      }
      state.retained = true;
      console.log(`received ${name} ${topic} qos=${packet.qos} retain=${packet.retain} ${payload}`);
    } else {
      fail(`${name} got an unexpected message on ${topic}`);
    }
    if (state.retained && state.other && state.marker && !state.finished) {
      state.finished = true;
      done += 1;
      if (done === 2) {
        clearTimeout(giveUp);
        // Not from inside this handler: MQTT.js acknowledges the message after it returns.
        setImmediate(() => {
          let ended = 0;
          for (const c of Object.values(clients)) {
            c.client.end(false, () => {
              ended += 1;
              if (ended === 2) {
                console.log('done');
                process.exit(0);
              }
            });
          }
        });
      }
    }
  });

  client.on('error', (err) => fail(`${name} error: ${err.message}`));
}

function publishOwn(name) {
  const { client, marker } = clients[name];
  const topic = `mqttjs5/from-${name}`;
  client.publish(topic, `{"from":"${name}"}`, { qos: 1, properties: sentProperties(name) }, (err) => {
    if (err) fail(`${name} publish: ${err.message}`);
    console.log(`published ${name} ${topic}`);
    // After the PUBACK of its own message: the broker has routed that one first.
    client.publish(marker, 'marker', { qos: 1 }, (err2) => {
      if (err2) fail(`${name} marker: ${err2.message}`);
    });
  });
}

start('tcp', tcpUrl, 'ws');
start('ws', wsUrl, 'tcp');
