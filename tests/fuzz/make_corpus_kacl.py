"""Regenerates the seed corpus of the kacl harness (tests/fuzz/corpus/kacl): Kafka's ACL znodes as
kafka.zk.ZkAclStore and ZkAclChangeStore write them, plus forms a coordinator may hold that Kafka
refuses. The first byte picks the decoder (0: a resource's ACL document, 1: a LITERAL change
notification, 2: a PREFIXED one).
    /usr/bin/python3 tests/fuzz/make_corpus_kacl.py
"""
import os

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "kacl")

seeds = {
    "doc": (0, '{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"}]}'),
    "doc_two": (0, '{"version":1,"acls":[{"principal":"User:*","permissionType":"Deny","operation":"All","host":"10.0.0.1"},'
                   '{"host":"*","operation":"DESCRIBE_CONFIGS","principal":"User:CN=a,O=b","permissionType":"ALLOW"}]}'),
    "doc_empty": (0, '{"version":1,"acls":[]}'),
    "doc_bad_op": (0, '{"version":1,"acls":[{"principal":"User:a","permissionType":"Allow","operation":"Any","host":"*"}]}'),
    "doc_v2": (0, '{"version":2,"acls":[]}'),
    "change_literal": (1, 'TOPIC:t1'),
    "change_literal_old": (1, 'Group:g:with:colons'),
    "change_literal_bad": (1, 'Topic'),
    "change_prefixed": (2, '{"version":1,"resourceType":"TOPIC","name":"fin-","patternType":"PREFIXED"}'),
    "change_prefixed_any": (2, '{"version":1,"resourceType":"Topic","name":"x","patternType":"ANY"}'),
}

os.makedirs(out, exist_ok=True)
for name, (sel, text) in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([sel]) + text.encode())
