"""Regenerates the seed corpus of the kznode harness (tests/fuzz/corpus/kznode): the znode
documents of Kafka 2.x's ZooKeeper layout as kafka.zk.ZkData writes them, plus the older and
odd forms a coordinator may hold. The first byte picks the decoder (0: topic assignment,
1: partition state, 2: broker registration, 3: /controller, /controller_epoch, /cluster/id,
config change notifications and /latest_producer_id_block).
    /usr/bin/python3 tests/fuzz/make_corpus_kznode.py
"""
import os

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "kznode")

seeds = {
    "assign_v2": (0, '{"version":2,"partitions":{"0":[0,2,1],"1":[1,0,2]},"adding_replicas":{},"removing_replicas":{}}'),
    "assign_v1_unordered": (0, '{"version":1,"partitions":{"2":[3],"0":[1,2],"1":[]}}'),
    "assign_reassigning": (0, '{"version":2,"partitions":{"0":[5,6]},"adding_replicas":{"0":[6]},"removing_replicas":{"0":[4]}}'),
    "assign_gap": (0, '{"version":2,"partitions":{"1":[0]}}'),
    "assign_twice": (0, '{"partitions":{"0":[0],"0":[1]}}'),
    "state": (1, '{"controller_epoch":3,"leader":2,"version":1,"leader_epoch":7,"isr":[2,0]}'),
    "state_no_leader": (1, '{"version":1,"isr":[],"leader":-1,"leader_epoch":4,"controller_epoch":1}'),
    "state_missing_isr": (1, '{"controller_epoch":3,"leader":2,"version":1,"leader_epoch":7}'),
    "broker_v5": (2, '{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT","CONTROL_PLANE":"PLAINTEXT"},'
                     '"endpoints":["PLAINTEXT://h1:9092","CONTROL_PLANE://h1:10092"],"jmx_port":-1,"port":9092,'
                     '"host":"h1","version":5,"timestamp":"1234"}'),
    "broker_v4_rack_ipv6": (2, '{"listener_security_protocol_map":{"CLIENT":"PLAINTEXT"},"endpoints":["CLIENT://[::1]:9093"],'
                               '"rack":"dc1","jmx_port":-1,"host":null,"timestamp":"1","port":-1,"version":4}'),
    "broker_v1": (2, '{"version":1,"host":"old","port":9000,"jmx_port":-1,"timestamp":"1"}'),
    "broker_bad_port": (2, '{"endpoints":["PLAINTEXT://h:65536"]}'),
    "controller": (3, '{"version":1,"brokerid":3,"timestamp":"1700000000123"}'),
    "controller_epoch": (3, '42'),
    "pid_block": (3, '{"version":1,"broker":2,"block_start":"3000","block_end":"3999"}'),
    "pid_block_numbers": (3, '{"version":1,"broker":0,"block_start":0,"block_end":999}'),
    "pid_block_backwards": (3, '{"version":1,"broker":0,"block_start":"10","block_end":"-1"}'),
    "cluster_id": (3, '{"version":"1","id":"q7-Lx_0aBcDeFgHiJkLmNw"}'),
    "config_change": (3, '{"version":2,"entity_path":"brokers/<default>"}'),
    "config_topic": (3, '{"version":1,"config":{"retention.ms":"1000","segment.bytes":"1024"}}'),
    "config_not_strings": (3, '{"version":1,"config":{"retention.ms":1000,"x":null,"y":"z"}}'),
    "config_change_v1": (3, '{"version":1,"entity_type":"topics","entity_name":"t"}'),
}

os.makedirs(out, exist_ok=True)
for name, (sel, text) in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([sel]) + text.encode())
