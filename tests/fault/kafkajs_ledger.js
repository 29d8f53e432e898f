// kafkajs_ledger.js — the kafkajs producer of the broker fault tests' ledger (driven by
// kafka_ledger.KafkajsLedgerProducer): kafkajs (tests/node_modules, pinned in tests/package.json)
// with idempotent: true (InitProducerId, then sequence numbers the leader checks), acks=-1 and
// kafkajs's own retries (for an idempotent producer: without end), sends the values "seq-<n>":
// one send of one message at a time per partition, every partition at once, at most RATE
// messages a second in all. One JSON line per event on stdout:
//   {"send": seq, "p": partition}   just before its send
//   {"ack": seq, "offset": o}       acknowledged at offset o
//   {"fail": seq, "error": text}    kafkajs gave up on it
//   {"error": text}                 the producer's own trouble (connect, ...)
// A line "stop" on stdin (or its end): no new seq is sent, the sends in flight finish, then
// {"done": true} and exit 0.
//   node kafkajs_ledger.js BROKERS TOPIC PARTITIONS RATE
'use strict';
const path = require('path');
const readline = require('readline');
const { Kafka, logLevel } = require(path.join(__dirname, '..', 'node_modules', 'kafkajs'));

function out(o) {
  process.stdout.write(JSON.stringify(o) + '\n');
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(argv) {
  const [brokers, topic, nparts, rate] = [argv[0], argv[1], parseInt(argv[2], 10), parseFloat(argv[3])];
  const kafka = new Kafka({ clientId: 'samsa-ledger', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  let stopping = false;
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (l) => { if (l.trim() === 'stop') stopping = true; });
  rl.on('close', () => { stopping = true; });
  await producer.connect();
  let next = 0;
  const t0 = Date.now();
  async function partitionLoop(p) {
    while (!stopping) {
      if (next >= rate * (Date.now() - t0) / 1000) {
        await sleep(5);
        continue;
      }
      const seq = next++;
      out({ send: seq, p });
      try {
        const r = await producer.send({ topic, acks: -1, messages: [{ value: `seq-${seq}`, partition: p }] });
        out({ ack: seq, offset: Number(r[0].baseOffset) });
      } catch (e) {
        out({ fail: seq, error: `${e.name}: ${e.message}` });
      }
    }
  }
  const loops = [];
  for (let p = 0; p < nparts; p++) loops.push(partitionLoop(p));
  await Promise.all(loops);
  await producer.disconnect();
  out({ done: true });
}

main(process.argv.slice(2)).then(() => process.exit(0), (e) => {
  out({ error: `${e.name}: ${e.message}` });
  process.exit(1);
});
