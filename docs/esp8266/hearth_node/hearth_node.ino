// A Hearth node on an ESP8266 (NodeMCU, Wemos D1 mini) with Arduino and PubSubClient.
//
// What it does:
//   - connects to Wi-Fi and to Hearth's broker on the Pi, with a Last Will: if the node drops
//     off (power, Wi-Fi), the broker publishes "offline" (retained) on <node>/status for it;
//   - publishes "online" (retained) on <node>/status right after each connect, replacing that;
//   - publishes its Wi-Fi signal and its analog input (A0) every 30 s, retained;
//   - switches its built-in LED from <node>/led/set ("ON"/"OFF") and reports <node>/led/state;
//   - reconnects by itself, without blocking the loop, whenever Wi-Fi or the broker goes away.
//
// Arduino IDE: Boards Manager "esp8266", Library Manager "PubSubClient" (Nick O'Leary).
// Fill in the four settings below, then upload. Watch it on the Pi with
//   mosquitto_sub -h 127.0.0.1 -v -t 'garden-node/#'
// (Hearth must listen on the network: broker.listen = "0.0.0.0:1883" in /etc/hearth/hearth.toml.)

#include <ESP8266WiFi.h>
#include <PubSubClient.h>

// ---- settings -------------------------------------------------------------------------------
const char* WIFI_SSID = "your-wifi";
const char* WIFI_PASSWORD = "your-wifi-password";
const char* BROKER_HOST = "192.168.1.50";  // the Pi's address (`hostname -I` on the Pi)
const uint16_t BROKER_PORT = 1883;
const char* NODE = "garden-node";          // topic prefix and MQTT client id; unique per node
// The node's user on the Pi (`sudo hearth passwd /etc/hearth/passwd garden-node`); leave both
// empty for a broker without users.
const char* MQTT_USER = "";
const char* MQTT_PASSWORD = "";
// ---------------------------------------------------------------------------------------------

const unsigned long PUBLISH_EVERY_MS = 30000;
const unsigned long RECONNECT_EVERY_MS = 5000;
// The broker declares the node dead after 1.5 x this without a packet, then sends the will.
const uint16_t KEEPALIVE_S = 15;

WiFiClient wifi;
PubSubClient mqtt(wifi);

char statusTopic[64];
char rssiTopic[64];
char lightTopic[64];
char ledSetTopic[64];
char ledStateTopic[64];

unsigned long lastReconnectAttempt = 0;
unsigned long lastPublish = 0;
bool ledOn = false;

void setLed(bool on) {
  ledOn = on;
  digitalWrite(LED_BUILTIN, on ? LOW : HIGH);  // the built-in LED is active-low
  mqtt.publish(ledStateTopic, on ? "ON" : "OFF", true);
}

void onMessage(char* topic, byte* payload, unsigned int length) {
  if (strcmp(topic, ledSetTopic) != 0) {
    return;
  }
  String command;
  for (unsigned int i = 0; i < length; i++) {
    command += (char)payload[i];
  }
  command.toUpperCase();
  if (command == "ON") {
    setLed(true);
  } else if (command == "OFF") {
    setLed(false);
  } else if (command == "TOGGLE") {
    setLed(!ledOn);
  }
}

// One attempt; the loop calls it again later if it fails, so the node never hangs here.
bool connectBroker() {
  String clientId = String("hearth-") + NODE;
  const char* user = MQTT_USER[0] ? MQTT_USER : nullptr;
  const char* password = MQTT_USER[0] ? MQTT_PASSWORD : nullptr;
  // Last Will: topic, QoS 1, retained, payload. Sent by the broker if we vanish.
  if (!mqtt.connect(clientId.c_str(), user, password, statusTopic, 1, true, "offline")) {
    Serial.printf("MQTT connect failed, state %d\n", mqtt.state());
    return false;
  }
  // Replaces the retained "offline" of an earlier will.
  mqtt.publish(statusTopic, "online", true);
  mqtt.subscribe(ledSetTopic, 1);
  mqtt.publish(ledStateTopic, ledOn ? "ON" : "OFF", true);
  Serial.println("MQTT connected");
  return true;
}

void publishReadings() {
  char value[16];
  snprintf(value, sizeof value, "%d", WiFi.RSSI());
  mqtt.publish(rssiTopic, value, true);
  snprintf(value, sizeof value, "%d", analogRead(A0));
  mqtt.publish(lightTopic, value, true);
}

void setup() {
  Serial.begin(115200);
  pinMode(LED_BUILTIN, OUTPUT);
  digitalWrite(LED_BUILTIN, HIGH);

  snprintf(statusTopic, sizeof statusTopic, "%s/status", NODE);
  snprintf(rssiTopic, sizeof rssiTopic, "%s/rssi", NODE);
  snprintf(lightTopic, sizeof lightTopic, "%s/light", NODE);
  snprintf(ledSetTopic, sizeof ledSetTopic, "%s/led/set", NODE);
  snprintf(ledStateTopic, sizeof ledStateTopic, "%s/led/state", NODE);

  WiFi.mode(WIFI_STA);
  WiFi.persistent(false);
  WiFi.setAutoReconnect(true);  // the SDK rejoins the network after a drop
  WiFi.begin(WIFI_SSID, WIFI_PASSWORD);

  mqtt.setServer(BROKER_HOST, BROKER_PORT);
  mqtt.setKeepAlive(KEEPALIVE_S);
  mqtt.setCallback(onMessage);
}

void loop() {
  unsigned long now = millis();
  if (WiFi.status() != WL_CONNECTED) {
    return;  // the SDK is reconnecting Wi-Fi; MQTT follows once it is back
  }
  if (!mqtt.connected()) {
    if (now - lastReconnectAttempt >= RECONNECT_EVERY_MS || lastReconnectAttempt == 0) {
      lastReconnectAttempt = now;
      if (connectBroker()) {
        lastReconnectAttempt = 0;
        publishReadings();
        lastPublish = now;
      }
    }
    return;
  }
  mqtt.loop();  // keepalive pings and incoming messages
  if (now - lastPublish >= PUBLISH_EVERY_MS) {
    lastPublish = now;
    publishReadings();
  }
}
