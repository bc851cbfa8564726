--[[
The Quarto features this paper uses, for plain pandoc (the fallback renderer).

  {{< include _file.md >}}   a paragraph of its own: replaced by the file's blocks
  {{< num KEY >}}            a build number (implemented in _extensions/num/num.lua)
  {{< param STEP.NAME >}}    a method parameter from the registry (same file)
  ::: {#fig-x} ... :::       a float: content, then the caption as the last paragraph;
                             kinds fig, tbl and the `crossref.custom` kinds of the
                             document's metadata (e.g. suppfig -> "Figure S1")
  @fig-x                     a cross-reference to such a float

Captions are numbered as the journal prints them ("Figure 1.", "Figure S1.", "Table S1.",
label and title sentence in bold); a float holding a table gets the class
`table-float`, any other `figure-float`, for the templates and the style sheet.
Shortcodes are expanded in the front matter too (filters/front-matter.lua then lays
it out for the templates in templates/).

Anything else in {{< >}} stops the render: the fallback must not silently print what
Quarto would have replaced.  Pass this filter before --citeproc.
]]

local here = pandoc.path.directory(PANDOC_SCRIPT_FILE)
local shortcodes = dofile(pandoc.path.join({here, "..", "_extensions", "num", "num.lua"}))

local meta = nil

-- ------------------------------------------------------------------ shortcodes
local OPEN, CLOSE = "{{<", ">}}"

local function call_shortcode(words)
  local name = table.remove(words, 1)
  if name ~= "num" and name ~= "param" and name ~= "accuracy" then
    error("shortcode '" .. tostring(name) .. "' is not supported by the fallback renderer (only num, param, accuracy, include)")
  end
  return shortcodes[name](words, {}, meta)
end

local function expand_inlines(inlines)
  local out = pandoc.Inlines({})
  local i = 1
  while i <= #inlines do
    local el = inlines[i]
    local start = el.t == "Str" and string.find(el.text, OPEN, 1, true)
    if not start then
      out:insert(el)
      i = i + 1
    else
      local prefix = string.sub(el.text, 1, start - 1)
      local words, suffix = {}, nil
      local first = string.sub(el.text, start + #OPEN)
      local j = i
      local token = first
      while true do
        if token ~= nil and token ~= "" then
          local close = string.find(token, CLOSE, 1, true)
          if close then
            local before = string.sub(token, 1, close - 1)
            if before ~= "" then table.insert(words, before) end
            suffix = string.sub(token, close + #CLOSE)
            break
          end
          table.insert(words, token)
        end
        j = j + 1
        if j > #inlines then
          error("unclosed shortcode starting with '" .. el.text .. "'")
        end
        local next_el = inlines[j]
        token = next_el.t == "Str" and next_el.text or nil
      end
      if prefix ~= "" then out:insert(pandoc.Str(prefix)) end
      local result = call_shortcode(words)
      if pandoc.utils.type(result) == "Inlines" then out:extend(result) else out:insert(result) end
      if suffix ~= "" then out:insert(pandoc.Str(suffix)) end
      i = j + 1
    end
  end
  return out
end

-- ------------------------------------------------------------------ includes
local function include_target(block)
  if block.t ~= "Para" and block.t ~= "Plain" then return nil end
  local text = pandoc.utils.stringify(block)
  return string.match(text, "^{{<%s*include%s+(%S+)%s*>}}$")
end

local function expand_includes(blocks, depth)
  if depth > 8 then error("includes nested more than 8 deep") end
  local out = pandoc.Blocks({})
  for _, block in ipairs(blocks) do
    local target = include_target(block)
    if target then
      local handle = io.open(target, "r")
      if handle == nil then error("included file '" .. target .. "' not found") end
      local included = pandoc.read(handle:read("a"), "markdown").blocks
      handle:close()
      out:extend(expand_includes(included, depth + 1))
    elseif block.t == "Div" then
      block.content = expand_includes(block.content, depth)
      out:insert(block)
    else
      out:insert(block)
    end
  end
  return out
end

-- ------------------------------------------------------------------ cross-references
local kinds = {fig = {prefix = "Figure", space = true}, tbl = {prefix = "Table", space = true}}
local counters, labels = {}, {}

local function read_custom_kinds()
  local crossref = meta.crossref
  if crossref == nil or crossref.custom == nil then return end
  for _, custom in ipairs(crossref.custom) do
    local key = pandoc.utils.stringify(custom.key)
    local prefix = pandoc.utils.stringify(custom["reference-prefix"] or custom["caption-prefix"] or key)
    local space = custom["space-before-numbering"]
    kinds[key] = {prefix = prefix, space = space == nil or space == true}
  end
end

local function kind_of(id)
  local key = string.match(id or "", "^(%a+)%-")
  if key and kinds[key] then return key end
  return nil
end

local function label_text(key, number)
  local kind = kinds[key]
  return kind.prefix .. (kind.space and "\u{00A0}" or "") .. tostring(number)
end

local provenance_cache = nil

local function figure_provenance()
  if provenance_cache == nil then
    provenance_cache = {figures = {}}
    local path = meta and meta["provenance-file"]
    if path ~= nil then
      local handle = io.open(pandoc.utils.stringify(path), "r")
      if handle ~= nil then
        provenance_cache = pandoc.json.decode(handle:read("a"), false)
        handle:close()
      end
    end
  end
  return provenance_cache.figures or {}
end

-- In HTML, a caption ends with one compact "source" link to the script that drew the
-- figure; hovering over it (or focusing it) shows the step, the script and the data files
-- behind the figure, each a link.  Targets are relative, percent-encoded URLs
-- (paperbuild/render.py), link titles the plain names; pandoc escapes both as attribute
-- values and the names as text, so no file name becomes markup.
local function provenance_note(content, identifier)
  if not (FORMAT or ""):match("html") then
    return nil
  end
  local figures, seen, records = figure_provenance(), {}, {}
  content:walk({Image = function(image)
    local record = figures[image.src]
    if record ~= nil and not seen[record.step] then
      seen[record.step] = true
      table.insert(records, {record = record, image = image.src})
    end
  end})
  if #records == 0 then
    return nil
  end
  local tip = pandoc.Inlines({})
  for index, item in ipairs(records) do
    local record = item.record
    if index > 1 then tip:insert(pandoc.LineBreak()) end
    tip:extend({pandoc.Str("step"), pandoc.Space(), pandoc.Strong(record.step), pandoc.Str(":"), pandoc.Space(),
      pandoc.Link("script", record.source, "step " .. record.step .. " made " .. item.image)})
    local names = record.data_names or {}
    for data_index, data in ipairs(record.data or {}) do
      tip:insert(pandoc.Str(data_index == 1 and "; data:" or ","))
      tip:insert(pandoc.Space())
      local name = names[data_index] or data
      tip:insert(pandoc.Link(name, data, name, pandoc.Attr("", {"fig-data"})))
    end
  end
  local tip_id = identifier .. "-prov"
  local first = records[1].record
  return pandoc.Span({
      pandoc.Link("source", first.source, "the script and data behind this figure", pandoc.Attr("", {"fig-source"},
        {{"aria-describedby", tip_id}})),
      pandoc.Span(tip, pandoc.Attr(tip_id, {"fig-prov-tip"}, {{"role", "tooltip"}}))},
    pandoc.Attr("", {"fig-prov"}))
end

-- The caption's first sentence is its title, set in bold after the label as the journal
-- does ("Figure 1. The thin-film cell and its interface. (A) ...").  A sentence ends
-- at a full stop followed by a space, not at an abbreviation or an initial.
local ABBREVIATIONS = {["e.g."] = true, ["i.e."] = true, ["vs."] = true, ["Fig."] = true, ["Figs."] = true,
  ["al."] = true, ["cf."] = true, ["ca."] = true, ["approx."] = true, ["Eq."] = true, ["Ref."] = true, ["No."] = true}

local function split_title(inlines)
  for index, el in ipairs(inlines) do
    if index > 80 then return nil end
    if el.t == "Str" and string.sub(el.text, -1) == "." and not ABBREVIATIONS[el.text]
        and not string.match(el.text, "^%u%.$") then
      local next_el = inlines[index + 1]
      if next_el == nil then return nil end  -- one sentence: no separate title
      if next_el.t == "Space" or next_el.t == "SoftBreak" then
        local title, rest = pandoc.Inlines({}), pandoc.Inlines({})
        for i = 1, index do title:insert(inlines[i]) end
        for i = index + 2, #inlines do rest:insert(inlines[i]) end
        return title, rest
      end
    end
  end
  return nil
end

-- In HTML a figure is shown larger than printed, so that its 6-8 pt text reads on a
-- screen: the image carries its printed width (read from the SVG) and paper.css scales
-- it, up to the window's width; a click opens the figure itself at full size.
local function svg_width(path)
  local handle = io.open(path, "r")
  if handle == nil then return nil end
  local head = handle:read(4000) or ""
  handle:close()
  local svg = string.match(head, "<svg[^>]*>")
  if svg == nil then return nil end
  local number, unit = string.match(svg, '%swidth="([%d%.]+)(%a*)"')
  if number == nil or (unit ~= "pt" and unit ~= "mm" and unit ~= "px" and unit ~= "") then return nil end
  return number .. (unit == "" and "px" or unit)
end

local function screen_figures(content)
  if not (FORMAT or ""):match("html") then
    return content
  end
  local figures = figure_provenance()
  return content:walk({Image = function(image)
    local width = svg_width(image.src)
    if width ~= nil then
      image.attributes["style"] = "--print-width: " .. width
    end
    local record = figures[image.src]
    if record ~= nil and record.file ~= nil then
      return pandoc.Link({image}, record.file, "open the figure at full size", pandoc.Attr("", {"zoom"}))
    end
    return image
  end})
end

local function number_floats(blocks)
  return blocks:walk({
    Div = function(div)
      local key = kind_of(div.identifier)
      if key == nil then return nil end
      counters[key] = (counters[key] or 0) + 1
      local label = label_text(key, counters[key])
      labels[div.identifier] = label
      local content = pandoc.Blocks(div.content)
      local caption = content:remove(#content)
      if caption == nil or (caption.t ~= "Para" and caption.t ~= "Plain") then
        error("float '" .. div.identifier .. "' needs its caption as the last paragraph" ..
          " (a caption opening with '(A)' is read as a list: begin it with a sentence)")
      end
      local inlines = pandoc.Inlines({pandoc.Strong({pandoc.Str(label .. ".")}), pandoc.Space()})
      local title, rest = split_title(caption.content)
      if title ~= nil then
        inlines:insert(pandoc.Strong(title))
        inlines:insert(pandoc.Space())
        inlines:extend(rest)
      else
        inlines:extend(caption.content)
      end
      local note = provenance_note(content, div.identifier)
      if note ~= nil then
        inlines:extend({pandoc.Space(), note})
      end
      local classes = pandoc.List(div.classes)
      local is_table = false
      content:walk({Table = function() is_table = true end})
      if not is_table then content = screen_figures(content) end
      classes:insert(is_table and "table-float" or "figure-float")
      return pandoc.Figure(content, {pandoc.Plain(inlines)}, pandoc.Attr(div.identifier, classes, div.attributes))
    end,
  })
end

local function resolve_refs(blocks)
  return blocks:walk({
    Cite = function(cite)
      local parts = pandoc.Inlines({})
      for index, citation in ipairs(cite.citations) do
        local label = labels[citation.id]
        if label == nil then
          if kind_of(citation.id) then
            error("cross-reference to unknown float '@" .. citation.id .. "'")
          end
          return nil -- a bibliography citation: leave it to citeproc
        end
        if index > 1 then parts:insert(pandoc.Str(", ")) end
        parts:insert(pandoc.Link({pandoc.Str(label)}, "#" .. citation.id))
      end
      return parts
    end,
  })
end

-- ------------------------------------------------------------------ metadata
-- Shortcodes in any text of the front matter (title, abstract, highlights, context-scale,
-- the original work's citation, ...) are expanded like those of the body.
local function expand_meta(value)
  local kind = pandoc.utils.type(value)
  if kind == "Inlines" then
    return expand_inlines(pandoc.Inlines(value))
  elseif kind == "Blocks" then
    return pandoc.Blocks(value):walk({Inlines = expand_inlines})
  elseif kind == "List" then
    for index, item in ipairs(value) do value[index] = expand_meta(item) end
  elseif type(value) == "table" then
    for _, key in ipairs(sorted_keys(value)) do value[key] = expand_meta(value[key]) end
  end
  return value
end

-- Keys in a fixed order: expanding a shortcode numbers its tooltip, and Lua's pairs()
-- order changes from run to run, so an unsorted walk would make two renders differ.
function sorted_keys(tbl)
  local keys = {}
  for key in pairs(tbl) do table.insert(keys, key) end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- ------------------------------------------------------------------ typesetting spans
-- Spans the build's tables carry (paperbuild/comparison.py) and the number shortcode
-- makes: `overbar` (a negative Miller index, 2̄) and `key` (a number's key under its
-- name in the table of published and rebuilt values).  HTML styles them (paper.css:
-- an overline; the key hidden, shown as the name's tooltip); Typst gets the markup.
local function typst_string(text)
  return '"' .. string.gsub(string.gsub(text, "\\", "\\\\"), '"', '\\"') .. '"'
end

local function typeset_spans(blocks)
  if FORMAT ~= "typst" then return blocks end
  return blocks:walk({
    Span = function(span)
      if span.classes:includes("overbar") then
        return pandoc.RawInline("typst", "#overline(" .. typst_string(pandoc.utils.stringify(span)) .. ")")
      elseif span.classes:includes("key") then
        return pandoc.RawInline("typst", "#linebreak()#text(size: 6pt, fill: luma(95), font: \"DejaVu Sans Mono\", "
          .. typst_string(pandoc.utils.stringify(span)) .. ")")
      end
    end,
  })
end

function Pandoc(doc)
  meta = doc.meta
  read_custom_kinds()
  local blocks = expand_includes(doc.blocks, 0)
  blocks = blocks:walk({Inlines = expand_inlines})
  for _, key in ipairs(sorted_keys(meta)) do
    if key ~= "crossref" then meta[key] = expand_meta(meta[key]) end
  end
  blocks = number_floats(blocks)
  blocks = resolve_refs(blocks)
  blocks = typeset_spans(blocks)
  if FORMAT == "typst" then
    -- captions already carry "Figure 1:"; stop Typst from numbering them again
    local includes = meta["header-includes"] or pandoc.MetaList({})
    if pandoc.utils.type(includes) ~= "List" then includes = pandoc.MetaList({includes}) end
    includes:insert(pandoc.MetaBlocks({pandoc.RawBlock("typst", "#set figure(numbering: none)")}))
    meta["header-includes"] = includes
  end
  doc.meta = meta
  doc.blocks = blocks
  return doc
end
