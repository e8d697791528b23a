// Validates Backstage catalog files with Backstage's own validators (@backstage/catalog-model),
// then checks that every reference between the entities resolves. Prints one line per problem
// and exits 1 when there is any.
//   NODE_PATH=<dir with node_modules> node validate.cjs FILE...
const fs = require('node:fs');
const YAML = require('yaml');
const model = require('@backstage/catalog-model');

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
};

// Backstage substitutes `$text`, `$json` and `$yaml` placeholders (paths relative to the catalog
// file) before validating; so does this script.
function resolvePlaceholders(value, file) {
  if (Array.isArray(value)) return value.map((v) => resolvePlaceholders(v, file));
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && ['$text', '$json', '$yaml'].includes(keys[0])) {
      const target = require('node:path').resolve(require('node:path').dirname(file), value[keys[0]]);
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
  for (const file of process.argv.slice(2)) {
    for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
      if (doc.errors.length) {
        problems.push(`${file}: ${doc.errors[0].message}`);
        continue;
      }
      let raw = doc.toJS();
      if (!raw) continue;
      try {
        raw = resolvePlaceholders(raw, file);
      } catch (e) {
        problems.push(`${file}: ${raw.kind ?? '?'}/${raw.metadata?.name ?? '?'}: placeholder: ${e.message}`);
        continue;
      }
      const label = `${file}: ${raw.kind ?? '?'}/${raw.metadata?.name ?? '?'}`;
      try {
        const entity = await policies.enforce(raw);
        const validator = validators[entity.kind];
        if (!validator) throw new Error(`unknown kind ${entity.kind}`);
        await validator.check(entity);
        entities.push(entity);
      } catch (e) {
        problems.push(`${label}: ${e.message}`);
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
      if (!known.has(full)) problems.push(`${e.kind}/${e.metadata.name}: reference ${ref} does not resolve`);
    }
  }
  for (const p of problems) console.log(p);
  console.log(JSON.stringify({ entities: entities.length, problems: problems.length }));
  process.exit(problems.length ? 1 : 0);
}
main();
