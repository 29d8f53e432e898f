"""Test certificates made with the openssl command line: a CA, certificates it signs for a
server (named localhost and 127.0.0.1) and for clients, and an untrusted CA's, all PEM. Each
`issue()` writes <name>.key, <name>.crt and <name>.pem (key followed by the chain), the forms
samsa's and Kafka's PEM keystores read."""
import os
import subprocess


def _run(*argv, cwd):
    subprocess.run(["openssl"] + list(argv), cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


class CA:
    def __init__(self, directory, name="samsa-test-ca"):
        self.dir = directory
        self.name = name
        os.makedirs(directory, exist_ok=True)
        self.key = os.path.join(directory, name + ".key")
        self.crt = os.path.join(directory, name + ".crt")
        _run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key, "-out", self.crt,
             "-days", "2", "-subj", "/O=samsa/CN=%s" % name, cwd=directory)
        self._serial = 1

    def issue(self, name, subject, server=False, password=None):
        """Signs a certificate for subject ("/O=samsa/CN=alice"); returns (pem, crt, key)."""
        key = os.path.join(self.dir, name + ".key")
        csr = os.path.join(self.dir, name + ".csr")
        crt = os.path.join(self.dir, name + ".crt")
        ext = os.path.join(self.dir, name + ".ext")
        _run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", subject,
             cwd=self.dir)
        with open(ext, "w") as f:
            if server:
                f.write("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n")
                f.write("extendedKeyUsage=serverAuth,clientAuth\n")
            else:
                f.write("extendedKeyUsage=clientAuth,serverAuth\n")
        self._serial += 1
        _run("x509", "-req", "-in", csr, "-CA", self.crt, "-CAkey", self.key, "-set_serial",
             str(self._serial), "-days", "2", "-extfile", ext, "-out", crt, cwd=self.dir)
        if password:
            enc = key + ".enc"
            _run("pkcs8", "-topk8", "-in", key, "-out", enc, "-passout", "pass:" + password,
                 cwd=self.dir)
            key = enc
        pem = os.path.join(self.dir, name + ".pem")
        with open(pem, "w") as out:
            for part in (key, crt):
                with open(part) as f:
                    out.write(f.read())
        return pem, crt, key
