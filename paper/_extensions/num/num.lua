--[[
{{< num KEY >}}: print a number the build computed.
{{< num KEY vs >}}: the same, followed by "(published: X)" when the published value,
printed with its own digits, differs from the rebuilt text (X from metadata
`published-file`, written by the build's comparison task: paperbuild/comparison.py
decides, so the paper and its published-vs-rebuilt table apply one rule).

The value comes from the build's numbers.json (metadata `numbers-file`, default
"numbers.json" beside the document), never from the text: an unknown key stops the
render instead of printing a blank or "?".  The number is wrapped in a span carrying
its provenance for readers of the HTML: hovering over it or tabbing to it shows the step
that computed it, its raw inputs with short hashes, the code hash and a link to the
step's source (from metadata `provenance-file`, written by the build).  Other formats
(the PDF) print the number plainly.

Every printed text is typeset (`typeset`): chemical formulas get subscripts
("Li2.88PO3.44N0.31" -> Li₂.₈₈PO₃.₄₄N₀.₃₁), a minus sign is a true minus (U+2212),
scientific notation becomes a power of ten ("1e-14" -> 10⁻¹⁴, "3e-6" -> 3 × 10⁻⁶), so
does a decimal below 0.001, its digits kept ("0.0000020" -> 2.0 × 10⁻⁶), a negative
Miller index written with a combining macron or overline ("(2̄02)") gets a real overbar
(HTML: a span of class `overbar`, drawn by paper.css; Typst: #overline), and the space
between a number and its unit does not break.  Pandoc's Subscript and Superscript
elements carry this to HTML (<sub>, <sup>) and Typst (#sub, #super) alike.

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

local function is_format(name)
  if quarto ~= nil and quarto.doc ~= nil and quarto.doc.is_format ~= nil then
    return quarto.doc.is_format(name)
  end
  return (FORMAT or ""):match(name) ~= nil
end

local function is_html()
  return is_format("html")
end

local function load_provenance(meta)
  local path = meta and meta["provenance-file"]
  if path == nil then
    return {steps = {}, figures = {}}
  end
  return load_numbers(pandoc.utils.stringify(path))
end

-- ------------------------------------------------------------------ typesetting
local MINUS = "\u{2212}"
local NBSP = "\u{00A0}"

-- A chemical formula: element symbols, each with an optional amount (Li2.88PO3.44N0.31,
-- Li3PO4), at least two elements and at least one amount, so that words and units
-- ("Pa", "5C", "Torr") never read as formulas.
local function formula_parts(word)
  local parts, pos, amounts = {}, 1, 0
  while pos <= #word do
    local element, amount, after = string.match(word, "^([A-Z][a-z]?)(%d*%.?%d*)()", pos)
    if element == nil then return nil end
    if amount == "." then return nil end
    if amount ~= "" and string.sub(amount, -1) == "." then return nil end
    if amount ~= "" then amounts = amounts + 1 end
    table.insert(parts, {element, amount})
    pos = after
  end
  if #parts < 2 or amounts == 0 then return nil end
  return parts
end

local function minus(text)
  -- a hyphen-minus that starts a number (at the start, after a space, a bracket or a
  -- slash) is a minus sign; one between words or digits ("Li-ion", "3-5") is not
  text = string.gsub(text, "^%-(%.?%d)", MINUS .. "%1")
  text = string.gsub(text, "([%s%(%[/=" .. NBSP .. "])%-(%.?%d)", "%1" .. MINUS .. "%2")
  return text
end

local function exponent_text(exp)
  local sign, digits = string.match(exp, "^([%+%-]?)0*(%d+)$")
  if digits == nil then return nil end
  return (sign == "-" and MINUS or "") .. digits
end

-- one whitespace-free word -> inlines
local function typeset_word(word)
  local parts = formula_parts(word)
  if parts ~= nil then
    local out = pandoc.Inlines({})
    for _, part in ipairs(parts) do
      out:insert(pandoc.Str(part[1]))
      if part[2] ~= "" then out:insert(pandoc.Subscript({pandoc.Str(part[2])})) end
    end
    return out
  end
  local lead, rest = string.match(word, "^([<>~%(]*)(.*)$")
  local sign = ""
  if string.sub(rest, 1, #MINUS) == MINUS then
    sign, rest = MINUS, string.sub(rest, #MINUS + 1)
  elseif string.match(rest, "^[%-%+]") then
    sign, rest = (string.sub(rest, 1, 1) == "-" and MINUS or ""), string.sub(rest, 2)
  end
  -- a decimal below 0.001: a power of ten with the same digits
  local zeros, significant, small_trail = string.match(rest, "^0%.(000+)([1-9]%d*)([^%w%.]*)$")
  if zeros ~= nil then
    local out = pandoc.Inlines({})
    local head = string.sub(significant, 1, 1)
    local tail = string.sub(significant, 2)
    local mantissa = head .. (tail ~= "" and ("." .. tail) or "")
    out:insert(pandoc.Str(lead .. sign .. (mantissa == "1" and "10" or (mantissa .. NBSP .. "\u{00D7}" .. NBSP .. "10"))))
    out:insert(pandoc.Superscript({pandoc.Str(MINUS .. tostring(#zeros + 1))}))
    if small_trail ~= "" then out:insert(pandoc.Str(small_trail)) end
    return out
  end
  local mantissa, exp, trail = string.match(rest, "^(%d*%.?%d+)[eE]([%+%-]?%d+)(.-)$")
  if mantissa ~= nil and exponent_text(exp) ~= nil then
    local out = pandoc.Inlines({})
    if lead ~= "" then out:insert(pandoc.Str(lead)) end
    if tonumber(mantissa) == 1 and not string.find(mantissa, "%.%d*[1-9]") then
      out:insert(pandoc.Str(sign .. "10"))
    else
      out:insert(pandoc.Str(sign .. mantissa .. NBSP .. "\u{00D7}" .. NBSP .. "10"))
    end
    out:insert(pandoc.Superscript({pandoc.Str(exponent_text(exp))}))
    if trail ~= "" then out:insert(pandoc.Str(trail)) end
    return out
  end
  return pandoc.Inlines({pandoc.Str(minus(word))})
end

-- A digit followed by a combining macron (U+0304) or overline (U+0305): a negative
-- Miller index.  Such Str elements are split, the digit drawn with a real overbar.
local BARS = {"\u{0304}", "\u{0305}"}

local function overbar(digit)
  if is_format("typst") then
    return pandoc.RawInline("typst", "#overline[" .. digit .. "]")
  end
  return pandoc.Span({pandoc.Str(digit)}, pandoc.Attr("", {"overbar"}))
end

local function with_overbars(inlines)
  local out = pandoc.Inlines({})
  for _, inline in ipairs(inlines) do
    if inline.t ~= "Str" then
      out:insert(inline)
    else
      local text, start = inline.text, 1
      while true do
        local first, last, digit = nil, nil, nil
        for _, bar in ipairs(BARS) do
          local f, l, d = string.find(text, "(%d)" .. bar, start)
          if f ~= nil and (first == nil or f < first) then first, last, digit = f, l, d end
        end
        if first == nil then break end
        if first > start then out:insert(pandoc.Str(string.sub(text, start, first - 1))) end
        out:insert(overbar(digit))
        start = last + 1
      end
      if start <= #text then out:insert(pandoc.Str(string.sub(text, start))) end
    end
  end
  return out
end

-- A printed number, unit or formula as inlines: words joined by no-break spaces (except
-- after a comma, where a list may break).
local function typeset(text)
  text = minus(tostring(text))
  local out = pandoc.Inlines({})
  local first = true
  for word in string.gmatch(text, "[^ ]+") do
    if not first then
      local last = out[#out]
      if last ~= nil and last.t == "Str" and string.sub(last.text, -1) == "," then
        out:insert(pandoc.Space())  -- a list ("(110), (200), ...") may break after its commas
      elseif last ~= nil and last.t == "Str" then
        last.text = last.text .. NBSP
      else
        out:insert(pandoc.Str(NBSP))
      end
    end
    first = false
    for _, inline in ipairs(typeset_word(word)) do
      local last = out[#out]
      if inline.t == "Str" and last ~= nil and last.t == "Str" then
        last.text = last.text .. inline.text
      else
        out:insert(inline)
      end
    end
  end
  return with_overbars(out)
end

-- ------------------------------------------------------------------ published values
local function published_note(key, meta)
  local path = meta and meta["published-file"]
  if path == nil then
    error("{{< num " .. key .. " vs >}}: no published-file in the metadata (the build writes published.json)")
  end
  path = pandoc.utils.stringify(path)
  local handle = io.open(path, "r")
  if handle == nil then
    error("{{< num " .. key .. " vs >}}: published values file '" .. path .. "' not found: run the build (doit)")
  end
  handle:close()
  local record = load_numbers(path)[key]
  if record == nil or not record.differs then
    return nil
  end
  local note = pandoc.Inlines({pandoc.Str("(published:"), pandoc.Space()})
  note:extend(typeset(record.published_text))
  note:insert(pandoc.Str(")"))
  if is_html() then
    return pandoc.Span(note, pandoc.Attr("", {"published"}, {{"title", "the value printed in the original article"}}))
  end
  return pandoc.Span(note)
end

local serial = 0

local function num(args, kwargs, meta)
  if args[1] == nil then
    error("{{< num >}} needs a number key, e.g. {{< num hrtem.interphase_nm >}}")
  end
  local key = pandoc.utils.stringify(args[1])
  local option = args[2] and pandoc.utils.stringify(args[2]) or nil
  if option ~= nil and option ~= "vs" or args[3] ~= nil then
    error("{{< num " .. key .. " ... >}}: the only option is 'vs' ({{< num KEY vs >}})")
  end
  local path = numbers_path(meta)
  local record = load_numbers(path)[key]
  if record == nil then
    error("unknown number key '" .. key .. "': not computed by any step (see " .. path .. ")")
  end
  local printed = typeset(record.text)
  local note = option == "vs" and published_note(key, meta) or nil
  local inputs = {}
  for name, digest in pairs(record.inputs) do
    table.insert(inputs, name .. " (" .. string.sub(digest, 1, 10) .. ")")
  end
  table.sort(inputs)
  if not is_html() then
    if note ~= nil then
      printed:extend({pandoc.Space(), note})
    end
    return printed
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
  local content = pandoc.Inlines(printed)
  content:insert(tip)
  local span = pandoc.Span(content,
    pandoc.Attr("", {"num"}, {{"data-key", key}, {"data-step", record.step}, {"tabindex", "0"},
      {"aria-describedby", tip_id}}))
  if note ~= nil then
    return pandoc.Inlines({span, pandoc.Space(), note})
  end
  return span
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
  local printed = typeset(record.text)
  if not is_html() then
    return printed
  end
  local title = "method parameter of step " .. record.step
  if record.why ~= nil and record.why ~= "" then
    title = title .. ": " .. record.why
  end
  return pandoc.Span(printed, pandoc.Attr("", {"param"}, {{"data-key", key}, {"title", title}}))
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
  local printed = typeset(text)
  if not is_html() then
    return printed
  end
  local title = string.format("%s over %d synthetic realizations: RMS %s, worst %s, bias %s; goal %s",
    key, math.floor(record.n), record.text.rms or "-", record.text.worst or "-", record.text.bias or "-",
    record.text.goal or "-")
  return pandoc.Span(printed, pandoc.Attr("", {"accuracy"}, {{"data-key", key}, {"title", title}}))
end

return {["num"] = num, ["param"] = param, ["accuracy"] = accuracy}
