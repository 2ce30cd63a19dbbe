// MQTT.js with protocolVersion 5 in a shared subscription on Hearth (run by
// tests/tests/e2e/mqtt5/mqttjs.rs): two members subscribe to $share/js/jobs/#, a third client
// publishes jobs/1..4 at QoS 1, each acknowledged before the next, and each member then
// publishes a marker to a topic only it subscribes to; what a member got before its marker is
// everything the broker sent it. One line per member: `member NAME got T1,T2`.
// Usage: node v5_shared.js mqtt://127.0.0.1:PORT
'use strict';

const mqtt = require('mqtt');

const [url] = process.argv.slice(2);
if (!url) {
  console.error('usage: node v5_shared.js mqtt://HOST:PORT');
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

function connect(clientId) {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { protocolVersion: 5, clientId, reconnectPeriod: 0 });
    client.on('error', (e) => fail(`${clientId}: ${e.message}`));
    client.once('connect', () => resolve(client));
  });
}

function subscribe(client, filters) {
  return new Promise((resolve) => {
    client.subscribe(filters, { qos: 1 }, (err, granted) => {
      if (err) fail(`subscribe ${filters}: ${err.message}`);
      for (const g of granted) {
        if (g.qos !== 1) fail(`subscribe ${g.topic}: granted ${g.qos}`);
      }
      resolve();
    });
  });
}

function publish(client, topic, payload) {
  return new Promise((resolve) => {
    client.publish(topic, payload, { qos: 1 }, (err) => {
      if (err) fail(`publish ${topic}: ${err.message}`);
      resolve();
    });
  });
}

async function member(name) {
  const client = await connect(`js-${name}`);
  const marker = `$js-marker/${name}`;
  const got = [];
  let markerSeen;
  const markerArrived = new Promise((resolve) => { markerSeen = resolve; });
  client.on('message', (topic) => {
    if (topic === marker) markerSeen();
    else got.push(topic);
  });
  await subscribe(client, ['$share/js/jobs/#', marker]);
  return { name, client, marker, got, markerArrived };
}

(async () => {
  const members = [await member('a'), await member('b')];
  const publisher = await connect('js-publisher');
  for (let n = 1; n <= 4; n += 1) await publish(publisher, `jobs/${n}`, 'work');
  for (const m of members) {
    await publish(m.client, m.marker, 'end');
    await m.markerArrived;
    console.log(`member ${m.name} got ${m.got.join(',')}`);
  }
  for (const c of [publisher, ...members.map((m) => m.client)]) c.end();
  clearTimeout(giveUp);
})();
