// Validates Kubernetes objects against the API's OpenAPI schemas as bundled by the npm package
// kubernetes-models (tests/package.json; its validators are compiled from the schemas, nothing
// is fetched at run time). Reads a JSON array of {where, doc} on stdin, prints one JSON line per
// object: {where, kind, name, ok, error}. Used by test_k8s_manifests.py.
import { readFileSync } from "node:fs";

const items = JSON.parse(readFileSync(0, "utf8"));
for (const { where, doc } of items) {
  const kind = doc && doc.kind;
  const apiVersion = doc && doc.apiVersion;
  const name = doc && doc.metadata && doc.metadata.name;
  let error = null;
  try {
    if (typeof kind !== "string" || typeof apiVersion !== "string")
      throw new Error("no apiVersion or kind");
    if (!/^[A-Za-z]+$/.test(kind) || !/^([a-z0-9.]+\/)?v[0-9a-z]+$/.test(apiVersion))
      throw new Error(`bad apiVersion ${apiVersion} or kind ${kind}`);
    let mod;
    try {
      mod = await import(`kubernetes-models/${apiVersion}/${kind}`);
    } catch (e) {
      throw new Error(`no schema for ${apiVersion} ${kind}: ${e.message.split("\n")[0]}`);
    }
    const Model = mod[kind];
    new Model(doc).validate();
  } catch (e) {
    error = String(e.message || e);
  }
  console.log(JSON.stringify({ where, kind, name, ok: error === null, error }));
}
