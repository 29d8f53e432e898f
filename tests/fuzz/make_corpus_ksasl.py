"""Regenerates the seed corpus of the ksasl harness (tests/fuzz/corpus/ksasl): the first byte
picks the decoder (0 SaslHandshake body, 1 + 8*ver SaslAuthenticate body of version ver,
2 PLAIN token, 3 SCRAM client-first, 4 SCRAM client-final, 5 SCRAM credential, 6 base64,
7 JAAS entry; the client's side from 0xF0: 0xF0 SaslHandshake answer, 0xF1 / 0xF2
SaslAuthenticate answer v0 / v1, 0xF3 SCRAM server-first, 0xF4 server-final, 0xF5 a ksaslc
exchange of answer frames each with a 2-byte length), the rest is its input, written from apache/kafka's Sasl*Request.json, RFC 4616,
RFC 5802/7677 and Kafka's ScramCredentialUtils format.
    /usr/bin/python3 tests/fuzz/make_corpus_ksasl.py
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "ksasl")


def s16(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">h", len(b)) + b


def b32(b):
    return struct.pack(">i", len(b)) + b


def compact(b):
    return bytes([len(b) + 1]) + b


def frame(b):
    return struct.pack(">H", len(b)) + b


server_first = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
first = b"n,,n=alice,r=rOprNGfwEbeRWgbNEkqO"
final = (b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
         b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
cred = (b"salt=MWx6cjZpZTBpOWlqM3R1b3I0dG9hZGFsZWY=,stored_key=ZXR2cmQ0aGhnZmVkY2JhOTg3NjU0MzIxMGFiY2RlZmc=,"
        b"server_key=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,iterations=4096")
jaas = (b'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" '
        b'password="admin-secret" user_admin="admin-secret" user_alice="alice\\"secret";')
seeds = {
    "handshake_plain": bytes([0]) + s16("PLAIN"),
    "handshake_scram512": bytes([0]) + s16("SCRAM-SHA-512"),
    "handshake_null": bytes([0]) + b"\xff\xff",
    "auth_v0_plain": bytes([1]) + b32(b"\0alice\0alice-secret"),
    "auth_v1_scram": bytes([1 + 8]) + b32(first),
    "auth_v2_compact": bytes([1 + 16]) + compact(final) + b"\x01\x05\x02ab",
    "auth_v0_long": bytes([1]) + struct.pack(">i", 1 << 20),
    "plain_authzid": bytes([2]) + b"admin\0alice\0pw",
    "plain_two_parts": bytes([2]) + b"\0alice",
    "scram_first": bytes([3]) + first,
    "scram_first_escaped": bytes([3]) + b"y,a=ad=2Cmin,n=a=3Db,r=xyz,tokenauth=true",
    "scram_first_cbind": bytes([3]) + b"p=tls-unique,,n=u,r=x",
    "scram_final": bytes([4]) + final,
    "scram_final_ext": bytes([4]) + b"c=biws,r=abc,x=y,p=AAAA",
    "cred": bytes([5]) + cred,
    "cred_dup": bytes([5]) + cred + b",salt=AAAA",
    "b64": bytes([6]) + b"Zm9vYmE=",
    "b64_bad_pad": bytes([6]) + b"Zh==",
    "jaas": bytes([7]) + jaas,
    "jaas_unterminated": bytes([7]) + jaas[:-3],
    "client_handshake_resp": bytes([0xF0]) + b"\0\0" + struct.pack(">i", 2) + s16("PLAIN") + s16("SCRAM-SHA-256"),
    "client_auth_resp_v0": bytes([0xF1]) + b"\0\x3a" + s16("Authentication failed") + b32(b""),
    "client_auth_resp_v1": bytes([0xF2]) + b"\0\0" + b"\xff\xff" + b32(server_first) + struct.pack(">q", 0),
    "client_server_first": bytes([0xF3]) + server_first,
    "client_server_final": bytes([0xF4]) + b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
    "client_exchange_plain": bytes([0xF5, 0]) + frame(struct.pack(">ih", 1, 0) + struct.pack(">i", 1) + s16("PLAIN"))
    + frame(struct.pack(">ih", 2, 0) + b"\xff\xff" + b32(b"") + struct.pack(">q", 0)),
}

os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
