// Scaffold for the MQTT door (QoS 0)
// TODO when merged: mqtt.connect(mqtt://127.0.0.1:<mqttPort>) with localAddress, subscribe to
// the channel as a topic at QoS 0, onPayload(message.toString()); publish with client.publish at
// QoS 0. The runner must start Herald with a real --mqtt-port for this door.
// Set maxSubscribers where a door cannot hold the full counts (long polling: 1000).
import { notYet } from './types.js';

export default notYet('mqtt');
