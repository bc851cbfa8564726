--[[
{{< num KEY >}}: print a number the build computed.

The value comes from the build's numbers.json (metadata `numbers-file`, default
"numbers.json" beside the document), never from the text: an unknown key stops the
render instead of printing a blank or "?".  The number is wrapped in a span carrying
its provenance for readers of the HTML: hovering over it or tabbing to it shows the step
that computed it, its raw inputs with short hashes, the code hash and a link to the
step's source (from metadata `provenance-file`, written by the build).  Other formats
(the PDF) print the number plainly.

Used as a Quarto shortcode extension and, through filters/quarto-subset.lua, by the
pandoc fallback: one implementation for both back ends.
]]

local cache = {}

local function numbers_path(meta)
  local path = meta and meta["numbers-file"]
  if path ~= nil then
    return pandoc.utils.stringify(path)
  end
  return "numbers.json"
end

local function load_numbers(path)
  if cache[path] == nil then
    local handle = io.open(path, "r")
    if handle == nil then
      error("numbers file '" .. path .. "' not found: run the build (doit) before rendering")
    end
    cache[path] = pandoc.json.decode(handle:read("a"), false)
    handle:close()
  end
  return cache[path]
end

local function is_html()
  if quarto ~= nil and quarto.doc ~= nil and quarto.doc.is_format ~= nil then
    return quarto.doc.is_format("html")
  end
  return (FORMAT or ""):match("html") ~= nil
end

local function load_provenance(meta)
  local path = meta and meta["provenance-file"]
  if path == nil then
    return {steps = {}, figures = {}}
  end
  return load_numbers(pandoc.utils.stringify(path))
end

local serial = 0

local function num(args, kwargs, meta)
  if args[1] == nil then
    error("{{< num >}} needs a number key, e.g. {{< num hrtem.interphase_nm >}}")
  end
  local key = pandoc.utils.stringify(args[1])
  local path = numbers_path(meta)
  local record = load_numbers(path)[key]
  if record == nil then
    error("unknown number key '" .. key .. "': not computed by any step (see " .. path .. ")")
  end
  local text = string.gsub(record.text, " ", "\u{00A0}")
  local inputs = {}
  for name, digest in pairs(record.inputs) do
    table.insert(inputs, name .. " (" .. string.sub(digest, 1, 10) .. ")")
  end
  table.sort(inputs)
  if not is_html() then
    return pandoc.Str(text)
  end
  local step_info = load_provenance(meta).steps[record.step] or {}
  local step_inlines = {pandoc.Str(record.step)}
  if step_info.source ~= nil then
    step_inlines = {pandoc.Link(record.step, step_info.source, "source of step " .. record.step,
      pandoc.Attr("", {"num-source"}))}
  end
  serial = serial + 1
  local tip_id = "num-prov-" .. serial
  local tip = pandoc.Span({
      pandoc.Strong(key), pandoc.LineBreak(),
      pandoc.Str("step:"), pandoc.Space()}, pandoc.Attr(tip_id, {"num-prov"}, {{"role", "tooltip"}}))
  tip.content:extend(step_inlines)
  tip.content:extend({pandoc.LineBreak(), pandoc.Str("inputs: " .. table.concat(inputs, ", ")),
    pandoc.LineBreak(), pandoc.Str("code: " .. string.sub(record.code, 1, 10))})
  return pandoc.Span({pandoc.Str(text), tip},
    pandoc.Attr("", {"num"}, {{"data-key", key}, {"data-step", record.step}, {"tabindex", "0"},
      {"aria-describedby", tip_id}}))
end

-- {{< param STEP.NAME >}}: print a method parameter exactly as the registry declares it
-- (metadata `params-file`, written by the build), so the methods text and the code that
-- ran cannot disagree.  In HTML a title names the step and says why it has that value.
local function param(args, kwargs, meta)
  if args[1] == nil then
    error("{{< param >}} needs a parameter key, e.g. {{< param hrtem.window_px >}}")
  end
  local key = pandoc.utils.stringify(args[1])
  local path = meta and meta["params-file"] and pandoc.utils.stringify(meta["params-file"]) or "params.json"
  local record = load_numbers(path)[key]
  if record == nil then
    error("unknown parameter key '" .. key .. "': no step declares it (see " .. path .. ")")
  end
  local text = string.gsub(record.text, " ", "\u{00A0}")
  if not is_html() then
    return pandoc.Str(text)
  end
  local title = "method parameter of step " .. record.step
  if record.why ~= nil and record.why ~= "" then
    title = title .. ": " .. record.why
  end
  return pandoc.Span({pandoc.Str(text)}, pandoc.Attr("", {"param"}, {{"data-key", key}, {"title", title}}))
end

-- {{< accuracy KEY [rms|worst|bias|goal] >}}: the method's accuracy for a number, measured
-- over synthetic realizations by `doit validate` and accepted into paper/accuracy.json
-- (metadata `accuracy-file`); default: the RMS error.  {{< accuracy realizations >}}
-- prints how many realizations it rests on.  In HTML a title gives all the statistics.
local function accuracy(args, kwargs, meta)
  if args[1] == nil then
    error("{{< accuracy >}} needs a number key, e.g. {{< accuracy hrtem.interphase_nm >}}")
  end
  local key = pandoc.utils.stringify(args[1])
  local path = meta and meta["accuracy-file"] and pandoc.utils.stringify(meta["accuracy-file"]) or "accuracy.json"
  local table_ = load_numbers(path)
  if key == "realizations" then
    return pandoc.Str(tostring(math.floor(table_.realizations)))
  end
  local stat = args[2] and pandoc.utils.stringify(args[2]) or "rms"
  local record = table_.numbers[key]
  if record == nil then
    error("no validated accuracy for '" .. key .. "' in " .. path .. ": run doit validate, then doit accept")
  end
  local text = record.text[stat]
  if text == nil then
    error("accuracy of '" .. key .. "': no statistic '" .. stat .. "' (rms, worst, bias or goal)")
  end
  text = string.gsub(text, " ", "\u{00A0}")
  if not is_html() then
    return pandoc.Str(text)
  end
  local title = string.format("%s over %d synthetic realizations: RMS %s, worst %s, bias %s; goal %s",
    key, math.floor(record.n), record.text.rms or "-", record.text.worst or "-", record.text.bias or "-",
    record.text.goal or "-")
  return pandoc.Span({pandoc.Str(text)}, pandoc.Attr("", {"accuracy"}, {{"data-key", key}, {"title", title}}))
end

return {["num"] = num, ["param"] = param, ["accuracy"] = accuracy}
