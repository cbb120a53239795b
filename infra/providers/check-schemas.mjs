#!/usr/bin/env node
// Verifies the vendored Pulumi schema subsets (aws/, random/, pulumiservice/schema.json) against the
// TypeScript declarations of the published SDK packages of the same version.
//
// It installs nothing. Prepare a directory first (see SCHEMAS.md):
//
//   mkdir -p /tmp/x && cd /tmp/x && npm init -y
//   npm install @pulumi/aws@<aws version> @pulumi/random@<random version> \
//     @pulumi/pulumiservice@<pulumiservice version> typescript@5
//   node /path/to/infra/providers/check-schemas.mjs /tmp/x
//
// Optionally also check integer-vs-number against the Python SDKs of the same versions:
//
//   pip install --no-deps --target /tmp/x/py pulumi_aws==<aws version> pulumi_random==<random version> \
//     pulumi_pulumiservice==<pulumiservice version>
//   node /path/to/infra/providers/check-schemas.mjs /tmp/x --python /tmp/x/py
//
// Usage: node check-schemas.mjs [DIR] [--python PYDIR] [--schema FILE]... [--quiet]
//   DIR      a directory whose node_modules holds @pulumi/aws, @pulumi/random, @pulumi/pulumiservice and typescript
//            (or the node_modules directory itself; no parent directory is searched). Default: the
//            nearest node_modules holding @pulumi/aws in or above this script's directory, else in or
//            above the current directory.
//   PYDIR    a directory holding the pulumi_aws/, pulumi_random/ and pulumi_pulumiservice/ Python packages.
//   --schema check only the given schema file(s) instead of the three schema.json files.
//
// What is checked, for every resource and type in each schema:
//   - the schema `version` equals the installed npm package's version;
//   - resources: input names == `<Name>Args` interface members, requiredInputs == members without `?`,
//     output names == the class's `pulumi.Output<...>` properties (id/urn are implicit),
//     `required` == outputs whose type does not include `undefined`;
//   - object types: property names and required sets against `types/input.d.ts` and `types/output.d.ts`
//     (honouring `language.nodejs.requiredInputs/requiredOutputs` overrides like the Node.js generator);
//   - enum types: values, member names (where the schema names them) and deprecations against
//     `types/enums/<module>/index.d.ts`;
//   - every property's type shape (string/number/boolean/array/map/$ref/oneOf/Archive) against the
//     TypeScript type (the d.ts says `number` for both `integer` and `number`);
//   - `deprecationMessage` present exactly where the d.ts has `@deprecated`;
//   - resource-level `secret: true` against the SDK's `pulumi.secret(args.x)` / `additionalSecretOutputs`;
//   - every `$ref` resolves inside the file and every type is reachable from a resource;
//   - with --python: `integer` vs `number` against the Python SDK's `int` / `float` annotations.
// Exit status: 0 when everything matches, 1 on any mismatch (a readable list is printed), 2 on usage errors.

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const SCRIPT_DIR = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_SCHEMAS = ["aws", "random", "pulumiservice"].map((p) => path.join(SCRIPT_DIR, p, "schema.json"));
const IMPLICIT_OUTPUTS = new Set(["id", "urn"]);

// ---------------------------------------------------------------------------------------------
// Locating inputs

// The node_modules directory in (or named by) `dir`, without looking further up.
export function nodeModulesIn(dir) {
    const d = path.resolve(dir);
    const candidate = path.basename(d) === "node_modules" ? d : path.join(d, "node_modules");
    return fs.existsSync(path.join(candidate, "@pulumi", "aws", "package.json")) ? candidate : undefined;
}

// The nearest node_modules holding @pulumi/aws in `start` or above it.
export function findNodeModules(start) {
    let dir = path.resolve(start);
    for (;;) {
        const candidate = path.basename(dir) === "node_modules" ? dir : path.join(dir, "node_modules");
        if (fs.existsSync(path.join(candidate, "@pulumi", "aws", "package.json"))) return candidate;
        const parent = path.dirname(dir);
        if (parent === dir) return undefined;
        dir = parent;
    }
}

export function loadTypeScript(nodeModules) {
    const req = createRequire(path.join(nodeModules, "..", "noop.js"));
    let ts;
    try {
        ts = req("typescript");
    } catch (e) {
        throw new Error(`cannot load 'typescript' from ${nodeModules}: install it next to the SDKs (npm install typescript@5)`);
    }
    if (typeof ts.createSourceFile !== "function") {
        throw new Error(`the 'typescript' package in ${nodeModules} has no compiler API (TypeScript 7 ships none); install typescript@5`);
    }
    return ts;
}

// ---------------------------------------------------------------------------------------------
// Token helpers. aws and random use moduleFormat "(.*)(?:/[^/]*)" (`aws:lambda/function:Function`:
// module `lambda`, SDK file `function`); pulumiservice's tokens have no file part
// (`pulumiservice:index:Webhook`), and its SDK file is the name in lower camel case (`webhook.d.ts`).

export function splitToken(token) {
    const [pkg, modPath, name] = token.split(":");
    if (!pkg || modPath === undefined || !name) throw new Error(`malformed token ${token}`);
    const slash = modPath.lastIndexOf("/");
    const module = slash >= 0 ? modPath.slice(0, slash) : modPath;
    const file = slash >= 0 ? modPath.slice(slash + 1) : name[0].toLowerCase() + name.slice(1);
    return { pkg, module, file, name };
}

// ---------------------------------------------------------------------------------------------
// TypeScript declaration reading

export class DtsReader {
    constructor(ts, packageDir) {
        this.ts = ts;
        this.packageDir = packageDir;
        this.cache = new Map();
        this.namespaceIndex = new Map();
    }

    source(relPath) {
        const file = path.join(this.packageDir, relPath);
        if (!this.cache.has(file)) {
            if (!fs.existsSync(file)) {
                this.cache.set(file, null);
            } else {
                const text = fs.readFileSync(file, "utf8");
                this.cache.set(file, this.ts.createSourceFile(file, text, this.ts.ScriptTarget.Latest, true, this.ts.ScriptKind.TS));
            }
        }
        return this.cache.get(file);
    }

    text(relPath) {
        const file = path.join(this.packageDir, relPath);
        return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : null;
    }

    memberName(node) {
        const n = node.name;
        if (!n) return undefined;
        if (this.ts.isIdentifier(n) || this.ts.isStringLiteral(n) || this.ts.isPrivateIdentifier?.(n)) return n.text;
        return n.getText();
    }

    docOf(node) {
        const ts = this.ts;
        const docs = (node.jsDoc ?? []).filter((d) => d.comment !== undefined);
        const description = docs.length ? ts.getTextOfJSDocComment(docs[docs.length - 1].comment)?.trim() : undefined;
        const depTag = ts.getJSDocTags(node).find((t) => t.tagName.text === "deprecated");
        const deprecated = depTag ? (ts.getTextOfJSDocComment(depTag.comment)?.trim() ?? "") : undefined;
        return { description, deprecated };
    }

    property(node, optional) {
        return { name: this.memberName(node), optional, typeNode: node.type, ...this.docOf(node) };
    }

    // Resource: the `<Name>Args` interface and the class's Output properties.
    resource(token) {
        const { module, file, name } = splitToken(token);
        const rel = (module === "index" ? "" : module + "/") + file + ".d.ts";
        const sf = this.source(rel);
        if (!sf) return { error: `no declaration file ${rel}` };
        const ts = this.ts;
        let cls;
        let args;
        for (const st of sf.statements) {
            if (ts.isClassDeclaration(st) && st.name?.text === name) cls = st;
            if (ts.isInterfaceDeclaration(st) && st.name.text === `${name}Args`) args = st;
        }
        if (!cls) return { error: `no class ${name} in ${rel}` };
        const inputs = [];
        if (args) {
            for (const m of args.members) {
                if (ts.isPropertySignature(m)) inputs.push(this.property(m, !!m.questionToken));
            }
        }
        const outputs = [];
        for (const m of cls.members) {
            if (!ts.isPropertyDeclaration(m)) continue;
            const mods = ts.getModifiers?.(m) ?? m.modifiers ?? [];
            if (mods.some((x) => x.kind === ts.SyntaxKind.StaticKeyword)) continue;
            if (!m.type || !ts.isTypeReferenceNode(m.type) || entityName(m.type.typeName) !== "pulumi.Output") continue;
            outputs.push(this.property(m, typeHasUndefined(ts, m.type.typeArguments[0])));
        }
        const classDoc = this.docOf(cls);
        return { rel, description: classDoc.description, deprecated: classDoc.deprecated, hasArgs: !!args, inputs, outputs };
    }

    namespaceInterfaces(rel) {
        if (!this.namespaceIndex.has(rel)) {
            const ts = this.ts;
            const index = new Map();
            const sf = this.source(rel);
            if (sf) {
                const visit = (statements, prefix) => {
                    for (const st of statements) {
                        if (ts.isModuleDeclaration(st) && st.body) {
                            const ns = prefix ? `${prefix}.${st.name.text}` : st.name.text;
                            if (ts.isModuleBlock(st.body)) visit(st.body.statements, ns);
                        } else if (ts.isInterfaceDeclaration(st)) {
                            index.set(prefix ? `${prefix}.${st.name.text}` : st.name.text, st);
                        }
                    }
                };
                visit(sf.statements, "");
            }
            this.namespaceIndex.set(rel, index);
        }
        return this.namespaceIndex.get(rel);
    }

    // Object type: the interface in types/input.d.ts and/or types/output.d.ts.
    objectType(token, side) {
        const { module, name } = splitToken(token);
        const rel = side === "input" ? "types/input.d.ts" : "types/output.d.ts";
        const key = module === "index" ? name : `${module}.${name}`;
        const iface = this.namespaceInterfaces(rel).get(key);
        if (!iface) return undefined;
        const props = [];
        for (const m of iface.members) {
            if (this.ts.isPropertySignature(m)) props.push(this.property(m, !!m.questionToken));
        }
        return { rel, description: this.docOf(iface).description, props };
    }

    // Enum type: `export declare const <Name>: { readonly Member: "value"; ... }`.
    enumType(token) {
        const ts = this.ts;
        const { module, name } = splitToken(token);
        const rel = module === "index" ? "types/enums/index.d.ts" : `types/enums/${module}/index.d.ts`;
        const sf = this.source(rel);
        if (!sf) return undefined;
        for (const st of sf.statements) {
            if (!ts.isVariableStatement(st)) continue;
            for (const decl of st.declarationList.declarations) {
                if (decl.name.getText() !== name || !decl.type || !ts.isTypeLiteralNode(decl.type)) continue;
                const members = [];
                for (const m of decl.type.members) {
                    if (!ts.isPropertySignature(m) || !m.type || !ts.isLiteralTypeNode(m.type)) continue;
                    const lit = m.type.literal;
                    const value = ts.isStringLiteral(lit) ? lit.text : Number(lit.getText());
                    members.push({ name: this.memberName(m), value, ...this.docOf(m) });
                }
                // The type alias carries the enum's description.
                const alias = sf.statements.find((s) => ts.isTypeAliasDeclaration(s) && s.name.text === name);
                return { rel, description: alias ? this.docOf(alias).description : undefined, members };
            }
        }
        return undefined;
    }

    // Secret handling in the generated JavaScript of a resource.
    secrets(token) {
        const { module, file } = splitToken(token);
        const text = this.text((module === "index" ? "" : module + "/") + file + ".js");
        if (text === null) return undefined;
        const inputs = new Set([...text.matchAll(/pulumi\.secret\(args\.(\w+)\)/g)].map((m) => m[1]));
        const outputs = new Set();
        const m = text.match(/additionalSecretOutputs:\s*\[([^\]]*)\]/);
        if (m) for (const s of m[1].matchAll(/"([^"]+)"/g)) outputs.add(s[1]);
        return { inputs, outputs };
    }
}

function entityName(n) {
    return n.left ? `${entityName(n.left)}.${n.right.text}` : n.text;
}

function typeHasUndefined(ts, node) {
    if (!node) return false;
    if (node.kind === ts.SyntaxKind.UndefinedKeyword) return true;
    if (ts.isParenthesizedTypeNode(node)) return typeHasUndefined(ts, node.type);
    if (ts.isUnionTypeNode(node)) return node.types.some((t) => typeHasUndefined(ts, t));
    if (ts.isTypeReferenceNode(node) && ["pulumi.Input", "pulumi.Output"].includes(entityName(node.typeName))) {
        return typeHasUndefined(ts, node.typeArguments?.[0]);
    }
    return false;
}

// ---------------------------------------------------------------------------------------------
// Canonical type shapes, so that a TypeScript type and a schema type spec can be compared.
//   string | number | boolean | any | archive | asset | T[] | map<T> | obj:<module>/<Name> |
//   enum:<module>/<Name> | res:<Name> | union "a | b" (sorted)

function joinUnion(alts) {
    const uniq = [...new Set(alts.filter((a) => a !== "undefined"))].sort();
    return uniq.join(" | ");
}

function arrayOf(elem) {
    return elem.includes(" | ") ? `(${elem})[]` : `${elem}[]`;
}

export function canonTs(ts, node) {
    const alts = (n) => {
        switch (n.kind) {
            case ts.SyntaxKind.StringKeyword:
                return ["string"];
            case ts.SyntaxKind.NumberKeyword:
                return ["number"];
            case ts.SyntaxKind.BooleanKeyword:
                return ["boolean"];
            case ts.SyntaxKind.AnyKeyword:
                return ["any"];
            case ts.SyntaxKind.UndefinedKeyword:
                return ["undefined"];
        }
        if (ts.isParenthesizedTypeNode(n)) return alts(n.type);
        if (ts.isUnionTypeNode(n)) return n.types.flatMap(alts);
        if (ts.isArrayTypeNode(n)) return [arrayOf(joinUnion(alts(n.elementType)))];
        if (ts.isLiteralTypeNode(n)) return [JSON.stringify(ts.isStringLiteral(n.literal) ? n.literal.text : n.literal.getText())];
        if (ts.isTypeLiteralNode(n)) {
            const idx = n.members.find((m) => ts.isIndexSignatureDeclaration(m));
            if (idx && n.members.length === 1) return [`map<${joinUnion(alts(idx.type))}>`];
            return [`object{${n.getText()}}`];
        }
        if (ts.isTypeReferenceNode(n)) {
            const name = entityName(n.typeName);
            if (name === "pulumi.Input" || name === "pulumi.Output") return alts(n.typeArguments[0]);
            if (name === "pulumi.asset.Archive") return ["archive"];
            if (name === "pulumi.asset.Asset") return ["asset"];
            let m = name.match(/^(?:inputs|outputs)\.(?:(\w+)\.)?(\w+)$/);
            if (m) return [`obj:${m[1] ?? "index"}/${m[2]}`];
            m = name.match(/^enums\.(?:(\w+)\.)?(\w+)$/);
            if (m) return [`enum:${m[1] ?? "index"}/${m[2]}`];
            return [`res:${name}`];
        }
        return [`?${n.getText()}`];
    };
    return joinUnion(alts(node));
}

export function canonSchema(spec, doc) {
    const alts = (s) => {
        if (s.oneOf) return s.oneOf.flatMap(alts);
        if (s.$ref) {
            const ref = s.$ref;
            if (ref === "pulumi.json#/Archive") return ["archive"];
            if (ref === "pulumi.json#/Asset") return ["asset"];
            if (ref === "pulumi.json#/Any" || ref === "pulumi.json#/Json") return ["any"];
            let m = ref.match(/^#\/types\/(.+)$/);
            if (m) {
                const tok = decodeURIComponent(m[1]);
                const t = doc.types?.[tok];
                if (!t) return [`dangling:${ref}`];
                const { module, name } = splitToken(tok);
                return [`${t.enum ? "enum" : "obj"}:${module}/${name}`];
            }
            m = ref.match(/^#\/resources\/(.+)$/);
            if (m) {
                const tok = decodeURIComponent(m[1]);
                if (!doc.resources?.[tok]) return [`dangling:${ref}`];
                return [`res:${splitToken(tok).name}`];
            }
            return [`unsupported-ref:${ref}`];
        }
        switch (s.type) {
            case "string":
                return ["string"];
            case "integer":
            case "number":
                return ["number"];
            case "boolean":
                return ["boolean"];
            case "array":
                return [arrayOf(s.items ? joinUnion(alts(s.items)) : "?")];
            case "object":
                return [`map<${s.additionalProperties ? joinUnion(alts(s.additionalProperties)) : "any"}>`];
        }
        return [`?${JSON.stringify(s)}`];
    };
    return joinUnion(alts(spec));
}

// ---------------------------------------------------------------------------------------------
// Python SDK (optional): int vs float

function snake(s) {
    return s.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2").toLowerCase();
}

const PY_KEYWORDS = new Set(["lambda", "import", "class", "def", "from", "global", "pass", "return", "with", "yield", "is", "in", "not", "and", "or", "as", "if", "else", "elif", "for", "while", "try", "except", "finally", "raise", "del", "assert", "break", "continue", "nonlocal"]);

export class PyReader {
    constructor(dir) {
        this.dir = dir;
        this.classes = new Map();
    }

    moduleDir(pkg, module) {
        const base = path.join(this.dir, `pulumi_${pkg}`);
        if (module === "index") return base;
        const m = snake(module);
        return path.join(base, PY_KEYWORDS.has(m) ? `${m}_` : m);
    }

    classIndex(file) {
        if (!this.classes.has(file)) {
            const index = new Map();
            if (fs.existsSync(file)) {
                const text = fs.readFileSync(file, "utf8");
                const parts = text.split(/^(?=class \w+)/m);
                for (const part of parts) {
                    const m = part.match(/^class (\w+)/);
                    if (!m) continue;
                    const getters = new Map();
                    for (const g of part.matchAll(/@pulumi\.getter(?:\(name="([^"]+)"\))?\s*\n\s*def (\w+)\(self\)\s*->\s*(.+?):\s*\n/g)) {
                        getters.set(g[1] ?? g[2], g[3]);
                    }
                    index.set(m[1], getters);
                }
            }
            this.classes.set(file, index);
        }
        return this.classes.get(file);
    }

    // Returns Map<camelName, annotation> or undefined.
    getters(file, className) {
        return this.classIndex(file).get(className);
    }
}

function pyNumberKind(annotation) {
    const ints = /\b(?:_builtins\.)?int\b/.test(annotation);
    const floats = /\b(?:_builtins\.)?float\b/.test(annotation);
    if (ints && !floats) return "integer";
    if (floats && !ints) return "number";
    return undefined;
}

function schemaNumberKind(spec) {
    if (spec.type === "integer" || spec.type === "number") return spec.type;
    if (spec.type === "array" && spec.items) return schemaNumberKind(spec.items);
    if (spec.type === "object" && spec.additionalProperties) return schemaNumberKind(spec.additionalProperties);
    return undefined;
}

// ---------------------------------------------------------------------------------------------
// Checks

function setDiff(a, b) {
    return [...a].filter((x) => !b.has(x)).sort();
}

class Report {
    constructor() {
        this.errors = [];
        this.checked = { resources: 0, objects: 0, enums: 0, python: 0 };
    }
    error(where, msg) {
        this.errors.push(`${where}: ${msg}`);
    }
    sets(where, what, expected, actual, expectedLabel, actualLabel) {
        const missing = setDiff(expected, actual);
        const extra = setDiff(actual, expected);
        if (missing.length) this.error(where, `${what} in ${expectedLabel} but not in ${actualLabel}: ${missing.join(", ")}`);
        if (extra.length) this.error(where, `${what} in ${actualLabel} but not in ${expectedLabel}: ${extra.join(", ")}`);
    }
}

function compareProps(report, ts, doc, where, dtsProps, schemaProps, schemaRequired, dtsLabel, section) {
    const dtsNames = new Set(dtsProps.map((p) => p.name));
    const schemaNames = new Set(Object.keys(schemaProps ?? {}));
    report.sets(where, `${section} names`, dtsNames, schemaNames, dtsLabel, "schema");
    const dtsRequired = new Set(dtsProps.filter((p) => !p.optional).map((p) => p.name));
    report.sets(where, `${section} required`, dtsRequired, new Set(schemaRequired ?? []), dtsLabel, "schema");
    for (const r of schemaRequired ?? []) {
        if (!schemaNames.has(r)) report.error(where, `${section} required lists unknown property ${r}`);
    }
    for (const p of dtsProps) {
        const spec = schemaProps?.[p.name];
        if (!spec) continue;
        const want = canonTs(ts, p.typeNode);
        const have = canonSchema(spec, doc);
        if (want !== have) report.error(`${where}.${p.name}`, `${section} type: d.ts says \`${want}\`, schema gives \`${have}\``);
        if ((p.deprecated !== undefined) !== (spec.deprecationMessage !== undefined)) {
            report.error(`${where}.${p.name}`, p.deprecated !== undefined ? `deprecated in ${dtsLabel} but the schema has no deprecationMessage` : `schema has a deprecationMessage but ${dtsLabel} does not mark it @deprecated`);
        }
    }
}

function collectRefs(spec, out) {
    if (!spec || typeof spec !== "object") return;
    if (typeof spec.$ref === "string" && spec.$ref.startsWith("#/types/")) out.add(decodeURIComponent(spec.$ref.slice("#/types/".length)));
    for (const k of ["items", "additionalProperties"]) collectRefs(spec[k], out);
    for (const alt of spec.oneOf ?? []) collectRefs(alt, out);
}

function checkPython(report, py, doc, where, file, className, props) {
    if (!py) return;
    const getters = py.getters(file, className);
    if (!getters) {
        report.error(where, `Python class ${className} not found in ${file}`);
        return;
    }
    for (const [name, spec] of Object.entries(props ?? {})) {
        const kind = schemaNumberKind(spec);
        if (!kind) continue;
        const ann = getters.get(name);
        if (!ann) {
            report.error(`${where}.${name}`, `no Python getter in ${className} (${path.basename(file)})`);
            continue;
        }
        const pyKind = pyNumberKind(ann);
        report.checked.python++;
        if (pyKind !== kind) report.error(`${where}.${name}`, `schema says ${kind}, Python SDK annotates \`${ann}\``);
    }
}

export function checkSchema(schemaFile, nodeModules, ts, pyDir, report) {
    const doc = JSON.parse(fs.readFileSync(schemaFile, "utf8"));
    const label = path.relative(process.cwd(), schemaFile) || schemaFile;
    const npmName = `@pulumi/${doc.name}`;
    const packageDir = path.join(nodeModules, "@pulumi", doc.name);
    const pkgJson = path.join(packageDir, "package.json");
    if (!fs.existsSync(pkgJson)) {
        report.error(label, `${npmName} is not installed in ${nodeModules}`);
        return;
    }
    const installed = JSON.parse(fs.readFileSync(pkgJson, "utf8")).version;
    if (installed !== doc.version) {
        report.error(label, `schema version ${doc.version} but ${npmName}@${installed} is installed (install ${npmName}@${doc.version})`);
        return;
    }
    const dts = new DtsReader(ts, packageDir);
    const py = pyDir ? new PyReader(pyDir) : undefined;
    if (py && !fs.existsSync(path.join(pyDir, `pulumi_${doc.name}`))) {
        report.error(label, `--python given but ${path.join(pyDir, `pulumi_${doc.name}`)} does not exist`);
    }
    if (py) {
        const meta = fs.readdirSync(pyDir).find((d) => d.startsWith(`pulumi_${doc.name}-`) && d.endsWith(".dist-info"));
        const pyVersion = meta?.slice(`pulumi_${doc.name}-`.length, -".dist-info".length);
        if (pyVersion && pyVersion !== doc.version) report.error(label, `schema version ${doc.version} but Python pulumi_${doc.name} ${pyVersion} is installed in ${pyDir}`);
    }

    // Resources
    const reachable = new Set();
    for (const [token, res] of Object.entries(doc.resources ?? {})) {
        const where = `${doc.name} ${token}`;
        report.checked.resources++;
        const facts = dts.resource(token);
        if (facts.error) {
            report.error(where, facts.error);
            continue;
        }
        for (const implicit of IMPLICIT_OUTPUTS) {
            if (res.properties?.[implicit]) report.error(where, `'${implicit}' is implicit and must not be listed in properties`);
        }
        compareProps(report, ts, doc, where, facts.inputs, res.inputProperties, res.requiredInputs, `${facts.rel} ${splitToken(token).name}Args`, "input");
        compareProps(report, ts, doc, where, facts.outputs, res.properties, res.required, `${facts.rel} class ${splitToken(token).name}`, "output");
        const sec = dts.secrets(token);
        if (sec) {
            const schemaSecretIn = new Set(Object.entries(res.inputProperties ?? {}).filter(([, s]) => s.secret).map(([n]) => n));
            const schemaSecretOut = new Set(Object.entries(res.properties ?? {}).filter(([, s]) => s.secret).map(([n]) => n));
            report.sets(where, "secret inputs", sec.inputs, schemaSecretIn, "the SDK's pulumi.secret(args.*)", "schema");
            report.sets(where, "secret outputs", sec.outputs, schemaSecretOut, "the SDK's additionalSecretOutputs", "schema");
        }
        for (const spec of [...Object.values(res.inputProperties ?? {}), ...Object.values(res.properties ?? {})]) collectRefs(spec, reachable);
        if (py) {
            const { pkg, module, file, name } = splitToken(token);
            const pyFile = path.join(py.moduleDir(pkg, module), `${snake(file)}.py`);
            checkPython(report, py, doc, `${where} (inputs)`, pyFile, `${name}Args`, res.inputProperties);
            checkPython(report, py, doc, `${where} (outputs)`, pyFile, name, res.properties);
        }
    }

    // Types reachable from the resources (transitively)
    const queue = [...reachable];
    while (queue.length) {
        const tok = queue.pop();
        const t = doc.types?.[tok];
        if (!t) continue;
        const inner = new Set();
        for (const spec of Object.values(t.properties ?? {})) collectRefs(spec, inner);
        for (const r of inner) if (!reachable.has(r)) (reachable.add(r), queue.push(r));
    }
    for (const tok of reachable) if (!doc.types?.[tok]) report.error(`${doc.name} types`, `$ref to undefined type ${tok}`);
    for (const tok of Object.keys(doc.types ?? {})) if (!reachable.has(tok)) report.error(`${doc.name} types`, `${tok} is not referenced by any resource`);

    for (const [token, t] of Object.entries(doc.types ?? {})) {
        const where = `${doc.name} ${token}`;
        if (t.enum) {
            report.checked.enums++;
            const facts = dts.enumType(token);
            if (!facts) {
                report.error(where, `enum not found in the d.ts (types/enums/${splitToken(token).module}/index.d.ts)`);
                continue;
            }
            const dtsValues = new Set(facts.members.map((m) => String(m.value)));
            const schemaValues = new Set(t.enum.map((e) => String(e.value)));
            report.sets(where, "enum values", dtsValues, schemaValues, facts.rel, "schema");
            for (const e of t.enum) {
                const member = facts.members.find((m) => String(m.value) === String(e.value));
                if (!member) continue;
                if (e.name !== undefined && e.name !== member.name) report.error(where, `enum value ${e.value}: schema name ${e.name}, d.ts member ${member.name}`);
                if ((member.deprecated !== undefined) !== (e.deprecationMessage !== undefined)) report.error(where, `enum value ${e.value}: deprecation differs (d.ts ${member.deprecated !== undefined ? "deprecated" : "not deprecated"})`);
            }
            continue;
        }
        report.checked.objects++;
        const input = dts.objectType(token, "input");
        const output = dts.objectType(token, "output");
        if (!input && !output) {
            report.error(where, `object type not found in types/input.d.ts nor types/output.d.ts`);
            continue;
        }
        const nodeLang = t.language?.nodejs ?? {};
        if (input) compareProps(report, ts, doc, where, input.props, t.properties, nodeLang.requiredInputs ?? t.required, `input.d.ts ${splitToken(token).module}.${splitToken(token).name}`, "input-shape property");
        if (output) compareProps(report, ts, doc, where, output.props, t.properties, nodeLang.requiredOutputs ?? t.required, `output.d.ts ${splitToken(token).module}.${splitToken(token).name}`, "output-shape property");
        if (py) {
            const { pkg, module, name } = splitToken(token);
            const dir = py.moduleDir(pkg, module);
            if (input) checkPython(report, py, doc, `${where} (input shape)`, path.join(dir, "_inputs.py"), `${name}Args`, t.properties);
            if (output) checkPython(report, py, doc, `${where} (output shape)`, path.join(dir, "outputs.py"), name, t.properties);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CLI

function main(argv) {
    let dir;
    let pyDir;
    let quiet = false;
    const schemas = [];
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--python") pyDir = argv[++i];
        else if (a === "--schema") schemas.push(path.resolve(argv[++i]));
        else if (a === "--quiet") quiet = true;
        else if (a === "-h" || a === "--help") {
            console.log("usage: node check-schemas.mjs [DIR] [--python PYDIR] [--schema FILE]... [--quiet]\nsee the header of this file and SCHEMAS.md");
            return 0;
        } else if (a.startsWith("-")) {
            console.error(`unknown option ${a}`);
            return 2;
        } else if (dir === undefined) dir = a;
        else {
            console.error(`unexpected argument ${a}`);
            return 2;
        }
    }
    if (pyDir === undefined && argv.includes("--python")) {
        console.error("--python needs a directory");
        return 2;
    }
    const nodeModules = dir !== undefined ? nodeModulesIn(dir) : findNodeModules(SCRIPT_DIR) ?? findNodeModules(process.cwd());
    if (!nodeModules) {
        console.error(`no node_modules with @pulumi/aws found ${dir !== undefined ? `in ${dir}` : `in or above ${SCRIPT_DIR} or ${process.cwd()}`}; see SCHEMAS.md for the npm install command`);
        return 2;
    }
    let ts;
    try {
        ts = loadTypeScript(nodeModules);
    } catch (e) {
        console.error(e.message);
        return 2;
    }
    const report = new Report();
    for (const schema of schemas.length ? schemas : DEFAULT_SCHEMAS) {
        try {
            checkSchema(schema, nodeModules, ts, pyDir, report);
        } catch (e) {
            report.error(schema, `could not be checked: ${e.stack ?? e}`);
        }
    }
    const c = report.checked;
    const summary = `${c.resources} resources, ${c.objects} object types, ${c.enums} enums` + (pyDir ? `, ${c.python} numeric properties against the Python SDK` : "");
    if (report.errors.length) {
        console.error(`schema check FAILED (${report.errors.length} mismatches; checked ${summary} using ${nodeModules}, TypeScript ${ts.version}):`);
        for (const e of report.errors) console.error(`  - ${e}`);
        return 1;
    }
    if (!quiet) console.log(`schema check OK: ${summary} match the SDK declarations in ${nodeModules} (TypeScript ${ts.version})`);
    return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
    process.exitCode = main(process.argv.slice(2));
}
