// Writes device definitions of the installed zigbee-herdsman-converters package as JSON on
// stdout: {"version", "definitions": [{vendor, model, description, exposes, error?}]}, with
// each definition's exposes as Zigbee2MQTT publishes them in bridge/devices.
//
// Usage: node dump_definitions.js (--vendor NAME)... (--model NAME)...
// Run with the directory holding node_modules/zigbee-herdsman-converters as the working
// directory. Definitions whose exposes are a function get a dummy device, as the package
// does itself when it prepares a definition (it calls them with {isDummyDevice: true}).
"use strict";

const path = require("node:path");
const base = path.join(process.cwd(), "node_modules", "zigbee-herdsman-converters");
const zhc = require(base);
const all = require(path.join(base, "dist", "devices", "index.js")).default;
const version = require(path.join(base, "package.json")).version;

const vendors = new Set();
const models = new Set();
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i += 2) {
    if (args[i] === "--vendor") vendors.add(args[i + 1]);
    else if (args[i] === "--model") models.add(args[i + 1]);
    else throw new Error(`unknown argument ${args[i]}`);
}

const definitions = [];
for (const raw of all) {
    if (!vendors.has(raw.vendor) && !models.has(raw.model)) continue;
    const entry = {vendor: raw.vendor, model: raw.model, description: raw.description, exposes: []};
    try {
        const definition = zhc.prepareDefinition(raw);
        let exposes = definition.exposes;
        if (typeof exposes === "function") exposes = exposes({isDummyDevice: true}, {});
        entry.exposes = JSON.parse(JSON.stringify(exposes));
    } catch (error) {
        entry.error = String(error && error.message ? error.message : error);
    }
    definitions.push(entry);
}
process.stdout.write(JSON.stringify({version, definitions}));
