--[[
{{< num KEY >}}: print a number the build computed.

The value comes from the build's numbers.json (metadata `numbers-file`, default
"numbers.json" beside the document), never from the text: an unknown key stops the
render instead of printing a blank or "?".  The number is wrapped in a span carrying
its provenance (key, step, code hash) for readers of the HTML.

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
  local title = key .. " = " .. record.text .. "\nstep: " .. record.step ..
    "\ninputs: " .. table.concat(inputs, ", ") .. "\ncode: " .. string.sub(record.code, 1, 10)
  return pandoc.Span({pandoc.Str(text)},
    pandoc.Attr("", {"num"}, {{"data-key", key}, {"data-step", record.step}, {"title", title}}))
end

return {["num"] = num}
