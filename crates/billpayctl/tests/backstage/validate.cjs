// Validates Backstage catalog files with Backstage's own validators (@backstage/catalog-model, and
// @backstage/plugin-scaffolder-common for software templates), following Location entities to
// the files they point at, then checks that every reference between the entities resolves.
// Prints one line per problem and exits 1 when there is any.
//   NODE_PATH=<dir with node_modules> node validate.cjs FILE...
const fs = require('node:fs');
const YAML = require('yaml');
const path = require('node:path');
const model = require('@backstage/catalog-model');
const scaffolder = require('@backstage/plugin-scaffolder-common');

const policies = model.EntityPolicies.allOf([
  new model.DefaultNamespaceEntityPolicy(),
  new model.NoForeignRootFieldsEntityPolicy(),
  new model.FieldFormatEntityPolicy(),
  new model.SchemaValidEntityPolicy(),
]);
const validators = {
  Group: model.groupEntityV1alpha1Validator,
  Domain: model.domainEntityV1alpha1Validator,
  System: model.systemEntityV1alpha1Validator,
  Component: model.componentEntityV1alpha1Validator,
  API: model.apiEntityV1alpha1Validator,
  Resource: model.resourceEntityV1alpha1Validator,
  User: model.userEntityV1alpha1Validator,
  Location: model.locationEntityV1alpha1Validator,
  Template: scaffolder.templateEntityV1beta3Validator,
};

// Backstage substitutes `$text`, `$json` and `$yaml` placeholders (paths relative to the catalog
// file) before validating; so does this script.
function resolvePlaceholders(value, file) {
  if (Array.isArray(value)) return value.map((v) => resolvePlaceholders(v, file));
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && ['$text', '$json', '$yaml'].includes(keys[0])) {
      const target = path.resolve(path.dirname(file), value[keys[0]]);
      const text = fs.readFileSync(target, 'utf8');
      return keys[0] === '$text' ? text : keys[0] === '$json' ? JSON.parse(text) : YAML.parse(text);
    }
    return Object.fromEntries(keys.map((k) => [k, resolvePlaceholders(value[k], file)]));
  }
  return value;
}

async function main() {
  const problems = [];
  const entities = [];
  const files = new Map();
  const queue = process.argv.slice(2);
  const seen = new Set();
  while (queue.length) {
    const file = queue.shift();
    if (seen.has(path.resolve(file))) continue;
    seen.add(path.resolve(file));
    let source;
    try {
      source = fs.readFileSync(file, 'utf8');
    } catch (e) {
      problems.push({ file, entity: '?/?', message: `cannot read it: ${e.message}` });
      continue;
    }
    for (const doc of YAML.parseAllDocuments(source)) {
      if (doc.errors.length) {
        problems.push({ file, entity: '?/?', message: doc.errors[0].message });
        continue;
      }
      let raw = doc.toJS();
      if (!raw) continue;
      try {
        raw = resolvePlaceholders(raw, file);
      } catch (e) {
        problems.push({ file, entity: `${raw.kind ?? '?'}/${raw.metadata?.name ?? '?'}`, message: `placeholder: ${e.message}` });
        continue;
      }
      const label = `${raw.kind ?? '?'}/${raw.metadata?.name ?? '?'}`;
      try {
        const entity = await policies.enforce(raw);
        const validator = validators[entity.kind];
        if (!validator) throw new Error(`unknown kind ${entity.kind}`);
        if (!(await validator.check(entity))) throw new Error(`unknown kind ${entity.kind} (apiVersion ${entity.apiVersion})`);
        entities.push(entity);
        files.set(entity, file);
        if (entity.kind === 'Location') {
          for (const t of [...(entity.spec.targets ?? []), ...(entity.spec.target ? [entity.spec.target] : [])]) {
            if (!t.includes('://')) queue.push(path.join(path.dirname(file), t));
          }
        }
      } catch (e) {
        problems.push({ file, entity: label, message: e.message });
      }
    }
  }
  const known = new Set(entities.map((e) => model.stringifyEntityRef(e)));
  const refs = (e) => {
    const s = e.spec ?? {};
    const out = [];
    const add = (v, kind) => v && out.push([v, kind]);
    add(s.owner, 'group');
    add(s.system, 'system');
    add(s.domain, 'domain');
    for (const a of s.providesApis ?? []) add(a, 'api');
    for (const a of s.consumesApis ?? []) add(a, 'api');
    for (const d of s.dependsOn ?? []) add(d, 'component');
    return out;
  };
  for (const e of entities) {
    for (const [ref, kind] of refs(e)) {
      const full = model.stringifyEntityRef(model.parseEntityRef(ref, { defaultKind: kind, defaultNamespace: 'default' }));
      if (!known.has(full)) problems.push({ file: files.get(e), entity: `${e.kind}/${e.metadata.name}`, message: `reference ${ref} does not resolve` });
    }
  }
  for (const p of problems) console.log(`${p.file}: ${p.entity}: ${p.message}`);
  const failing = [...new Set(problems.map((p) => p.entity))].sort();
  console.log(JSON.stringify({ entities: entities.length, problems: problems.length, failing }));
  process.exit(problems.length ? 1 : 0);
}
main();
