/**
 * Lifelines: the pipe networks, the sensors with their latest values (kept live by SSE
 * /stream/lifelines), a chart of a sensor's readings (uPlot), the alarms as they are raised,
 * and the isolation plan of a clicked pipe (valves to close, customers and facilities cut off).
 */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Cleanup } from "../app";
import { failed, missing } from "../app";
import { currentUser, get, getWithTotal, post, stream } from "../api/client";
import type { Alarm, CircleCategory, Geo, Isolation, NetworkRow, ReadingBucket, SensorProps } from "../api/contract";
import { h, labelled, select, table, toast } from "../dom";
import { fmt, lang, onLangChange, t, tOr, when } from "../i18n";
import { addStreets, addTiles, createMap, fitBounds, fitTo, ready, setData, type TileJson } from "../map";

const KIND_COLOURS: Record<string, string> = { water: "#2b8cbe", gas: "#e6550d", drainage: "#756bb1" };

export async function mountLifelines(root: HTMLElement): Promise<Cleanup> {
  // the networks; without the lifelines router, the ones the pipe tiles hold (water, gas)
  const networks = await get<NetworkRow[]>("/lifelines/networks").catch((err: unknown) => {
    if (missing(err)) return (["water", "gas"] as const).map((kind) => ({ network: kind, kind, pipes: 0, length_m: 0 }));
    throw err;
  });
  const networkName = (n: NetworkRow): string => `${tOr(`network_${n.kind}`, n.network)}${n.length_m ? ` (${fmt(n.length_m / 1000, 1)} km)` : ""}`;
  const chooser = select(networks.map((n) => [n.network, networkName(n)]), networks[0]?.network ?? "");
  chooser.name = "network";
  const mapBox = h("div", { class: "map", id: "lifelines-map" });
  const alarmList = h("ul", { class: "alarm-list", id: "alarm-list", "aria-live": "polite" });
  const chartBox = h("div", { class: "chart", id: "sensor-chart", role: "img", "aria-label": t("readings") });
  const chartTitle = h("h3", { id: "chart-title" });
  const isolationBox = h("div", { id: "isolation", "aria-live": "polite" }, h("p", { class: "hint", i18n: "isolation_hint" }));
  const pipeInput = h("input", { type: "text", name: "pipe", inputmode: "numeric", size: 8 });
  const pipeForm = h("form", { class: "row", id: "isolate-form" }, labelled("pipe_id", pipeInput), h("button", { type: "submit", i18n: "isolate" }));
  const sensorTable = h("div", { class: "table-box", id: "sensor-table" });
  const live = h("span", { class: "badge" }, "…");
  const panel = h(
    "section",
    { class: "panel", "aria-labelledby": "lifelines-title" },
    h("h2", { id: "lifelines-title" }, h("span", { i18n: "view_lifelines" }), " ", live),
    networks.length ? labelled("network", chooser) : null,
    h("h3", { i18n: "alarms" }),
    alarmList,
    chartTitle,
    chartBox,
    h("h3", { i18n: "isolation" }),
    pipeForm,
    isolationBox,
    sensorTable,
  );
  root.append(h("div", { class: "split" }, mapBox, panel));
  const map = createMap(mapBox, "view_lifelines");
  await ready(map);

  // pipes: vector tiles from the server when it has them (large networks), else GeoJSON
  const pipeTiles: TileJson | null = await addTiles(map, "pipes");
  await addStreets(map);
  if (!pipeTiles) setData(map, "pipes");
  setData(map, "isolation");
  setData(map, "sensors");
  map.addLayer({
    id: "pipes-line",
    type: "line",
    ...(pipeTiles ? { source: "t-pipes", "source-layer": "pipes", filter: ["==", ["get", "network"], chooser.value] } : { source: "pipes" }),
    paint: {
      // coloured by network (gas orange, water blue, drainage purple), never by pipe kind
      "line-color": ["coalesce", ["get", ["coalesce", ["get", "network"], chooser.value], ["literal", KIND_COLOURS]], "#2b8cbe"],
      "line-width": ["interpolate", ["linear"], ["coalesce", ["get", "diameter_mm"], 100], 50, 1, 600, 5],
    },
  });
  map.addLayer({
    id: "isolation-line",
    type: "line",
    source: "isolation",
    filter: ["==", ["geometry-type"], "LineString"],
    paint: { "line-color": ["match", ["get", "role"], "lost", "#d7301f", "#fd8d3c"], "line-width": 5, "line-opacity": 0.85 },
  });
  map.addLayer({ id: "isolation-valves", type: "circle", source: "isolation", filter: ["==", ["geometry-type"], "Point"], paint: { "circle-radius": 6, "circle-color": "#000", "circle-stroke-color": "#ffeb3b", "circle-stroke-width": 2 } });
  map.addLayer({
    id: "sensors-dots",
    type: "circle",
    source: "sensors",
    paint: {
      "circle-radius": 6,
      "circle-color": ["match", ["get", "state"], "alarm", "#d7301f", "no_data", "#999999", "#31a354"],
      "circle-stroke-color": "#fff",
      "circle-stroke-width": 1.5,
    },
  });

  let sensors: Geo<SensorProps> = { type: "FeatureCollection", features: [] };
  let alarms: Alarm[] = [];
  let selected: string | null = null;
  let plot: uPlot | null = null;

  // the sensor table pages through the server's list (a city has thousands), alarms first;
  // the map keeps every sensor of the network
  const SENSOR_PAGE = 25;
  let sensorOffset = 0;
  let shown: SensorProps[] = [];
  let matching = 0;
  const sensorSearch = h("input", { type: "search", name: "sensor-search", autocomplete: "off" });
  let searching = 0;
  sensorSearch.addEventListener("input", () => {
    sensorOffset = 0;
    window.clearTimeout(searching);
    searching = window.setTimeout(() => void loadSensorPage(), 250);
  });
  const loadSensorPage = async (): Promise<void> => {
    const { body, total } = await getWithTotal<Geo<SensorProps>>("/lifelines/sensors", {
      network: chooser.value || undefined,
      q: sensorSearch.value.trim() || undefined,
      limit: SENSOR_PAGE,
      offset: sensorOffset,
    }).catch((err: unknown) => {
      failed(err);
      return { body: { type: "FeatureCollection", features: [] } as Geo<SensorProps>, total: 0 };
    });
    shown = body.features.map((f) => f.properties);
    matching = total ?? shown.length;
    renderSensors();
  };
  const turnSensors = (by: number): void => {
    sensorOffset = Math.max(0, sensorOffset + by);
    void loadSensorPage();
  };
  const renderSensors = (): void => {
    // the chosen network's sensors only (a gas sensor is no help on the water map)
    setData(map, "sensors", { ...sensors, features: sensors.features.filter((f) => !f.properties.network || f.properties.network === chooser.value) });
    // the page's rows with the live values the stream brought since
    const latest = new Map(sensors.features.map((f) => [f.properties.sensor_id, f.properties]));
    const rows = shown.map((s) => latest.get(s.sensor_id) ?? s);
    sensorTable.replaceChildren(
      labelled("search_sensors", sensorSearch),
      h("div", { class: "pager" },
        h("button", { type: "button", disabled: sensorOffset === 0, onclick: () => turnSensors(-SENSOR_PAGE) }, t("page_prev")),
        h("span", { id: "sensor-count", "data-total": matching }, t("page_of").replace("{a}", String(matching ? sensorOffset + 1 : 0)).replace("{b}", String(sensorOffset + rows.length)).replace("{n}", String(matching))),
        h("button", { type: "button", disabled: sensorOffset + SENSOR_PAGE >= matching, onclick: () => turnSensors(SENSOR_PAGE) }, t("page_next")),
      ),
      table<SensorProps>(
        "sensors",
        [
          ["code", (s) => s.sensor_id],
          ["value", (s) => `${fmt(s.last_value, 2)} ${s.unit}`],
          ["time", (s) => when(s.last_time)],
        ],
        rows,
        (s) => void showSensor(s.sensor_id),
      ),
    );
  };

  const renderAlarms = (): void => {
    if (!alarms.length) {
      alarmList.replaceChildren(h("li", { class: "hint" }, t("no_alarms")));
      return;
    }
    alarmList.replaceChildren(
      ...alarms.slice(0, 30).map((a) =>
        h(
          "li",
          { "data-alarm-id": String(a.alarm_id), "data-sensor-id": a.sensor_id },
          h("span", { class: `badge ${a.state}` }, `L${a.level} ${tOr(`rule_${a.rule}`, a.rule)}`),
          ` ${a.sensor_id} · ${fmt(a.value, 2)} ${a.unit} · ${when(a.raised_at)} `,
          a.case_reference ? h("a", { href: "#/cases", class: "case-ref" }, a.case_reference) : null,
          " ",
          a.state === "raised" && currentUser()
            ? h("button", { type: "button", onclick: () => void acknowledge(a) }, t("acknowledge"))
            : null,
          h("button", { type: "button", class: "link", onclick: () => void showSensor(a.sensor_id) }, t("readings")),
        ),
      ),
    );
  };

  const acknowledge = async (a: Alarm): Promise<void> => {
    try {
      await post(`/lifelines/alarms/${encodeURIComponent(String(a.alarm_id))}/acknowledge`, {});
      a.state = "acknowledged";
      renderAlarms();
    } catch (err) {
      failed(err);
    }
  };

  const showSensor = async (id: string): Promise<void> => {
    selected = id;
    const s = sensors.features.find((f) => f.properties.sensor_id === id);
    chartTitle.textContent = `${t("readings")}: ${id}${s ? ` (${s.properties.unit})` : ""}`;
    if (s && s.geometry.type === "Point") map.easeTo({ center: s.geometry.coordinates as [number, number], duration: 0 });
    try {
      const end = new Date();
      const start = new Date(end.getTime() - 24 * 3600 * 1000);
      const rows = await get<ReadingBucket[]>(`/lifelines/sensors/${encodeURIComponent(id)}/readings`, {
        start: start.toISOString(),
        end: end.toISOString(),
        bucket_s: 300,
      });
      drawChart(rows);
    } catch (err) {
      if (missing(err)) chartBox.replaceChildren(h("p", { class: "hint" }, t("not_available")));
      else failed(err);
    }
  };

  const drawChart = (rows: ReadingBucket[]): void => {
    plot?.destroy();
    chartBox.replaceChildren();
    const data: uPlot.AlignedData = [
      rows.map((r) => Date.parse(r.time) / 1000),
      rows.map((r) => r.min),
      rows.map((r) => r.mean),
      rows.map((r) => r.max),
    ];
    plot = new uPlot(
      {
        width: Math.max(280, chartBox.clientWidth || 420),
        height: 180,
        // one reading alone would stretch the time axis over years: show an hour around it
        scales: { x: { time: true, range: (_u, lo, hi) => (lo === hi ? [lo - 1800, hi + 1800] : [lo, hi]) } },
        series: [{ label: t("time") }, { label: t("series_min"), stroke: "#9ecae1" }, { label: t("series_mean"), stroke: "#08519c", width: 2 }, { label: t("series_max"), stroke: "#9ecae1" }],
        axes: [{}, {}],
      },
      data,
      chartBox,
    );
  };

  const loadNetwork = async (): Promise<void> => {
    if (!chooser.value) return;
    setData(map, "isolation");
    if (pipeTiles) {
      map.setFilter("pipes-line", ["==", ["get", "network"], chooser.value]);
      return;
    }
    try {
      const pipes = await get<GeoJSON.FeatureCollection>("/lifelines/pipes", { network: chooser.value });
      setData(map, "pipes", pipes);
      fitTo(map, pipes);
      setData(map, "isolation");
    } catch (err) {
      failed(err);
    }
  };

  let lastIsolation: [Isolation, string | number] | null = null;
  // the facilities' categories by name, never by code (the catalogue's names)
  const kinds = await get<CircleCategory[]>("/circles/categories").catch((): CircleCategory[] => []);
  const facilityKind = (code: string): string => {
    const c = kinds.find((k) => k.category === code);
    return c ? (lang() === "en" ? c.name_en : c.name_zh) : code;
  };
  const showIsolation = (iso: Isolation, id: string | number): void => {
        lastIsolation = [iso, id];
        isolationBox.replaceChildren(h("div", {},
          h("p", {}, h("strong", {}, `${t("network")} ${tOr(`network_${networks.find((n) => n.network === chooser.value)?.kind ?? ""}`, chooser.value)} · ${id}`)),
          h("p", {}, `${t("valves_to_close")}: `, h("span", { id: "valves" }, iso.valves_to_close.join(", ") || "–")),
          h("p", {}, `${t("customers")}: `, h("strong", { id: "customers" }, fmt(iso.customers)), ` · ${t("residents")}: ${fmt(iso.residents)}`),
          h("p", { class: "legend" }, h("span", {}, h("span", { class: "swatch", style: "background:#d7301f" }), ` ${t("iso_lost")}`), h("span", {}, h("span", { class: "swatch", style: "background:#fd8d3c" }), ` ${t("iso_cut_off")}`), h("span", {}, h("span", { class: "swatch", style: "background:#000" }), ` ${t("valves_to_close")}`)),
          iso.critical_facilities.length
            ? h("div", {}, h("p", {}, `${t("critical_facilities")}:`), h("ul", {}, ...iso.critical_facilities.map((f) => h("li", {}, `${f.name} (${facilityKind(f.category)})`))))
            : null,
        ));
  };
  const isolate = (id: string | number): void => {
    get<Isolation>("/lifelines/isolation", { network: chooser.value, pipe: String(id) })
      .then((iso) => {
        setData(map, "isolation", iso.geometry as unknown as GeoJSON.FeatureCollection);
        showIsolation(iso, id);
      })
      .catch(failed);
  };
  map.on("click", "pipes-line", (e) => {
    const id = e.features?.[0]?.properties?.pipe_id as string | number | undefined;
    if (id !== undefined) isolate(id);
  });
  pipeForm.addEventListener("submit", (e) => {
    e.preventDefault();
    if (pipeInput.value.trim()) isolate(pipeInput.value.trim());
  });
  map.on("click", "sensors-dots", (e) => {
    const id = e.features?.[0]?.properties?.sensor_id as string | undefined;
    if (id) void showSensor(id);
  });
  for (const layer of ["pipes-line", "sensors-dots"]) {
    map.on("mouseenter", layer, () => (map.getCanvas().style.cursor = "pointer"));
    map.on("mouseleave", layer, () => (map.getCanvas().style.cursor = ""));
  }
  chooser.addEventListener("change", () => {
    sensorOffset = 0;
    void loadSensorPage();
    void loadNetwork();
  });

  const loadSensors = Promise.all([get<Geo<SensorProps>>("/lifelines/sensors"), loadSensorPage()]).then(([s]) => {
    sensors = s;
    renderSensors();
  });
  const loadAlarms = get<Alarm[]>("/lifelines/alarms", { active: true }).then((a) => {
    alarms = a.sort((x, y) => Date.parse(y.raised_at) - Date.parse(x.raised_at));
    renderAlarms();
  });
  fitBounds(map, pipeTiles);
  await Promise.all([loadNetwork(), loadSensors, loadAlarms]).catch((err: unknown) => {
    if (!missing(err)) throw err;
  });
  renderAlarms();

  const closeStream = stream(
    "/stream/lifelines",
    {
      reading: (data) => {
        const r = data as { sensor_id: string; time: string; value: number };
        const f = sensors.features.find((x) => x.properties.sensor_id === r.sensor_id);
        if (f) {
          f.properties.last_value = r.value;
          f.properties.last_time = r.time;
          renderSensors();
        }
        if (plot && r.sensor_id === selected) {
          const d = plot.data.map((col) => Array.from(col as ArrayLike<number>)) as number[][];
          const x = Date.parse(r.time) / 1000;
          d[0]!.push(x);
          d[1]!.push(r.value);
          d[2]!.push(r.value);
          d[3]!.push(r.value);
          plot.setData(d as uPlot.AlignedData);
        }
      },
      alarm: (data) => {
        const a = data as Alarm;
        alarms = [a, ...alarms.filter((x) => x.alarm_id !== a.alarm_id)];
        const f = sensors.features.find((x) => x.properties.sensor_id === a.sensor_id);
        if (f) {
          f.properties.state = a.state === "cleared" ? "ok" : "alarm";
          renderSensors();
        }
        renderAlarms();
        if (a.state === "raised") toast(`${t("alarms")}: ${a.sensor_id} ${tOr(`rule_${a.rule}`, a.rule)}`);
      },
    },
    (up) => {
      live.textContent = up ? t("live") : "…";
      live.dataset.live = up ? "up" : "down";
    },
  );
  const unsubscribe = onLangChange(() => {
    for (const option of chooser.options) {
      const n = networks.find((x) => x.network === option.value);
      if (n) option.textContent = networkName(n);
    }
    live.textContent = live.dataset.live === "up" ? t("live") : "…";
    if (lastIsolation) showIsolation(...lastIsolation);
    renderAlarms();
    renderSensors();
  });
  return () => {
    closeStream();
    unsubscribe();
    plot?.destroy();
    map.remove();
  };
}
