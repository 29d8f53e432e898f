// kafkajs_client.js — one kafkajs (tests/node_modules, pinned in tests/package.json) operation
// per run, for test_kb_kafkajs.py: prints its result as one JSON line on stdout; an error
// prints {"error": name, "message": text, "type": kafkajs's error type} and exits 1.
//   node kafkajs_client.js BROKERS create TOPIC [NUM_PARTITIONS]   admin.createTopics (no
//        numPartitions/replicationFactor given: kafkajs sends -1, the broker's defaults)
//   node kafkajs_client.js BROKERS list                            admin.listTopics
//   node kafkajs_client.js BROKERS metadata TOPIC                  admin.fetchTopicMetadata
//   node kafkajs_client.js BROKERS delete TOPIC                    admin.deleteTopics
//   node kafkajs_client.js BROKERS alter TOPIC K=V[,K=V]           admin.alterConfigs of a topic
//   node kafkajs_client.js BROKERS describe TOPIC                  admin.describeConfigs of a topic
//   node kafkajs_client.js BROKERS produce TOPIC N                 producer.send of N keyed
//        messages with headers, GZIP-compressed, acks=-1 (all to partition i % partitions)
//   node kafkajs_client.js BROKERS idempotent TOPIC N              an idempotent producer
//        (idempotent: true: InitProducerId on connect, then sequence numbers) sends N messages
//        to partition 0, acks=-1, one per send
//   node kafkajs_client.js BROKERS txn TOPIC TXNID            a transactional producer
//        (transactionalId TXNID) commits txn-c1-0..2, aborts txn-a-0..2, commits txn-c2-0..1,
//        each message to partition 0; prints {"done": true}
//   node kafkajs_client.js BROKERS consume TOPIC GROUP N            consumer in group GROUP
//        (subscribed from the beginning) until N messages arrived; prints their values in
//        arrival order per partition: {"partitions": {"0": ["v", ...]}, "count": N}
// With SAMSA_KAFKAJS_SASL=MECHANISM:USER:PASSWORD (plain, scram-sha-256, scram-sha-512) in the
// environment, kafkajs authenticates with SASL on a SASL_PLAINTEXT listener.
'use strict';
const path = require('path');
const { Kafka, logLevel, CompressionTypes, Partitioners, ConfigResourceTypes } = require(
  path.join(__dirname, '..', 'node_modules', 'kafkajs'));

async function main(argv) {
  const [brokers, op, topic, arg, arg2] = argv;
  const opts = { clientId: 'samsa-test', brokers: brokers.split(','), logLevel: logLevel.ERROR,
    retry: { retries: 3 } };
  const sasl = process.env.SAMSA_KAFKAJS_SASL;
  if (sasl) {
    const [mechanism, username, ...pw] = sasl.split(':');
    opts.sasl = { mechanism, username, password: pw.join(':') };
  }
  const kafka = new Kafka(opts);
  if (op === 'consume') {
    const want = parseInt(arg2, 10);
    const c = kafka.consumer({ groupId: arg, sessionTimeout: 10000, heartbeatInterval: 1000 });
    await c.connect();
    try {
      await c.subscribe({ topic, fromBeginning: true });
      const partitions = {};
      let count = 0;
      let done;
      const all = new Promise((resolve) => { done = resolve; });
      await c.run({ eachMessage: async ({ partition, message }) => {
        (partitions[partition] = partitions[partition] || []).push(message.value.toString());
        if (++count >= want) done();
      } });
      let t;
      const timer = new Promise((_, reject) => {
        t = setTimeout(() => reject(new Error(`only ${count} of ${want} messages in 60 s`)), 60000);
      });
      try {
        await Promise.race([all, timer]);
      } finally {
        clearTimeout(t);
      }
      return { partitions, count };
    } finally {
      await c.disconnect();
    }
  }
  if (op === 'produce') {
    const p = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await p.connect();
    try {
      const n = parseInt(arg, 10);
      const messages = [];
      for (let i = 0; i < n; i++)
        messages.push({ key: `key-${i}`, value: `value-${i}`, partition: 0,
          headers: { 'trace-id': `t${i}`, origin: 'kafkajs' } });
      const r = await p.send({ topic, messages, acks: -1, compression: CompressionTypes.GZIP });
      return r.map((x) => ({ partition: x.partition, errorCode: x.errorCode, baseOffset: x.baseOffset }));
    } finally {
      await p.disconnect();
    }
  }
  if (op === 'txn') {
    const p = kafka.producer({ transactionalId: arg, idempotent: true, maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner });
    await p.connect();
    try {
      const rounds = [['txn-c1', 3, true], ['txn-a', 3, false], ['txn-c2', 2, true]];
      for (const [prefix, n, commit] of rounds) {
        const t = await p.transaction();
        for (let i = 0; i < n; i++)
          await t.send({ topic, messages: [{ value: `${prefix}-${i}`, partition: 0 }] });
        if (commit)
          await t.commit();
        else
          await t.abort();
      }
      return { done: true };
    } finally {
      await p.disconnect();
    }
  }
  if (op === 'idempotent') {
    const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner });
    await p.connect();
    try {
      const out = [];
      for (let i = 0; i < parseInt(arg, 10); i++) {
        const r = await p.send({ topic, acks: -1, messages: [{ value: `idem-${i}`, partition: 0 }] });
        out.push(r[0].baseOffset);
      }
      return { offsets: out };
    } finally {
      await p.disconnect();
    }
  }
  const a = kafka.admin();
  await a.connect();
  try {
    switch (op) {
    case 'create': {
      const t = { topic };
      if (arg) t.numPartitions = parseInt(arg, 10);
      return { created: await a.createTopics({ topics: [t], timeout: 10000 }) };
    }
    case 'list':
      return { topics: (await a.listTopics()).sort() };
    case 'metadata':
      return await a.fetchTopicMetadata({ topics: [topic] });
    case 'alter': {
      const configEntries = arg.split(',').map((kv) => {
        const [name, value] = kv.split('=');
        return { name, value };
      });
      await a.alterConfigs({ validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries }] });
      return { altered: topic };
    }
    case 'describe': {
      const r = await a.describeConfigs({ includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
      const out = {};
      for (const e of r.resources[0].configEntries)
        out[e.configName] = { value: e.configValue, source: e.configSource, isDefault: e.isDefault };
      return out;
    }
    case 'delete':
      await a.deleteTopics({ topics: [topic], timeout: 10000 });
      return { deleted: topic };
    default:
      throw new Error(`unknown operation ${op}`);
    }
  } finally {
    await a.disconnect();
  }
}

main(process.argv.slice(2)).then((r) => {
  process.stdout.write(JSON.stringify(r) + '\n');
}, (e) => {
  // an aggregate (createTopics) carries the per-topic errors, a retried one its last error
  const first = e.originalError || (Array.isArray(e.errors) && e.errors.length ? e.errors[0] : e);
  process.stdout.write(JSON.stringify({ error: e.name, message: first.message || e.message,
    type: first.type || e.type || null }) + '\n');
  process.exitCode = 1;
});
