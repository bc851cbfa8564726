--[[
The front matter of a document, prepared for its title block.

Reads (all optional):

  author:             who made THIS document: [{name:, note:}] or plain names
  original:           the work being rebuilt, credited as such
    citation:, doi:
    authors:          [{name:, affiliations: [id, ...]}]
    affiliations:     [{id:, name:}]
  highlights:         a list of short Markdown strings
  context-scale:      Markdown paragraphs ("Context & Scale")
  abstract:           Markdown ("Summary")

and sets, for the templates in paper/templates/ (HTML and Typst):

  original-byline             the original authors inline, comma-separated, each with
                              superscript affiliation numbers
  original-affiliation-lines  one line per affiliation: superscript number, name
  original-doi-url            https://doi.org/<doi>
  author-meta                 the names of `author`, for the document's metadata

Under Quarto (whose own templates know nothing of these keys) the same title-block
parts are put at the start of the body instead, so both back ends show them.
Run after filters/quarto-subset.lua, which expands shortcodes in the metadata.
]]

local function stringify(value)
  return pandoc.utils.stringify(value or "")
end

local function as_inlines(value)
  local kind = pandoc.utils.type(value)
  if kind == "Inlines" then return pandoc.Inlines(value) end
  if kind == "Blocks" then return pandoc.utils.blocks_to_inlines(value) end
  return pandoc.Inlines({pandoc.Str(stringify(value))})
end

local function list(value)
  if value == nil then return {} end
  if pandoc.utils.type(value) == "List" then return value end
  return {value}
end

-- A hyphenated name or initials ("Min-cheol", "M.-c.") never break at the hyphen: in
-- Typst a box, in HTML a span that paper.css keeps on one line.  The text stays as
-- written, so it copies and searches as it reads.
local function typst_string(text)
  return '"' .. string.gsub(string.gsub(text, "\\", "\\\\"), '"', '\\"') .. '"'
end

local function keep_hyphenated(inlines)
  return pandoc.Inlines(inlines):walk({
    Str = function(str)
      if not string.match(str.text, "%a%.?%-%a") then return nil end
      if FORMAT == "typst" then
        return pandoc.RawInline("typst", "#box(" .. typst_string(str.text) .. ")")
      end
      return pandoc.Span({str}, pandoc.Attr("", {"nobreak"}))
    end,
  })
end

local function original_byline(original)
  local out = pandoc.Inlines({})
  local authors = list(original.authors)
  for index, author in ipairs(authors) do
    local name = author
    local ids = {}
    if type(author) == "table" and author.name ~= nil then
      name = author.name
      for _, id in ipairs(list(author.affiliations)) do
        table.insert(ids, stringify(id))
      end
    end
    local person = pandoc.Inlines({})
    person:extend(keep_hyphenated(as_inlines(name)))
    if #ids > 0 then
      person:insert(pandoc.Superscript({pandoc.Str(table.concat(ids, ","))}))
    end
    -- each name is kept whole on its line
    out:insert(pandoc.Span(person, pandoc.Attr("", {"original-author"})))
    if index < #authors then
      out:extend({pandoc.Str(","), pandoc.Space()})
    end
  end
  return out
end

local function affiliation_lines(original)
  local lines = pandoc.List({})
  for _, affiliation in ipairs(list(original.affiliations)) do
    local line = pandoc.Inlines({})
    if type(affiliation) == "table" and affiliation.name ~= nil then
      if affiliation.id ~= nil then
        line:insert(pandoc.Superscript({pandoc.Str(stringify(affiliation.id))}))
        line:insert(pandoc.Space())
      end
      line:extend(as_inlines(affiliation.name))
    else
      line:extend(as_inlines(affiliation))
    end
    lines:insert(pandoc.MetaInlines(line))
  end
  return lines
end

local function author_names(meta)
  local names = {}
  for _, author in ipairs(list(meta.author)) do
    if type(author) == "table" and author.name ~= nil then
      table.insert(names, stringify(author.name))
    else
      table.insert(names, stringify(author))
    end
  end
  return names
end

-- ------------------------------------------------------------------ Quarto: the parts as body blocks
local function title_block_blocks(meta)
  local blocks = pandoc.Blocks({})
  local original = meta.original
  if original ~= nil then
    local credit = pandoc.Blocks({pandoc.Para({pandoc.Strong({pandoc.Str("Original"), pandoc.Space(),
      pandoc.Str("work")})})})
    local citation = as_inlines(original.citation)
    if original.doi ~= nil then
      local doi = stringify(original.doi)
      citation:extend({pandoc.Space(), pandoc.Link("doi:" .. doi, "https://doi.org/" .. doi)})
    end
    credit:insert(pandoc.Para(citation))
    credit:insert(pandoc.Para(meta["original-byline"]))
    local lines = {}
    for _, line in ipairs(meta["original-affiliation-lines"]) do
      table.insert(lines, {pandoc.Plain(line)})
    end
    if #lines > 0 then credit:insert(pandoc.BulletList(lines)) end
    blocks:insert(pandoc.Div(credit, pandoc.Attr("", {"original-work"})))
  end
  if meta.highlights ~= nil then
    local items = {}
    for _, item in ipairs(list(meta.highlights)) do
      table.insert(items, {pandoc.Plain(as_inlines(item))})
    end
    blocks:insert(pandoc.Div({pandoc.Header(2, "Highlights", pandoc.Attr("", {"unnumbered", "unlisted"})),
      pandoc.BulletList(items)}, pandoc.Attr("", {"highlights"})))
  end
  if meta["context-scale"] ~= nil then
    local content = pandoc.Blocks({pandoc.Header(2, "Context & Scale", pandoc.Attr("", {"unnumbered", "unlisted"}))})
    local value = meta["context-scale"]
    if pandoc.utils.type(value) == "Blocks" then content:extend(value) else content:insert(pandoc.Para(as_inlines(value))) end
    blocks:insert(pandoc.Div(content, pandoc.Attr("", {"context-scale"})))
  end
  return blocks
end

function Pandoc(doc)
  local meta = doc.meta
  if meta.original ~= nil then
    meta["original-byline"] = pandoc.MetaInlines(original_byline(meta.original))
    if meta.original.citation ~= nil then
      meta.original.citation = pandoc.MetaInlines(keep_hyphenated(as_inlines(meta.original.citation)))
    end
    meta["original-affiliation-lines"] = affiliation_lines(meta.original)
    if meta.original.doi ~= nil then
      meta["original-doi-url"] = pandoc.MetaString("https://doi.org/" .. stringify(meta.original.doi))
    end
  end
  if meta.author ~= nil and meta["author-meta"] == nil then
    meta["author-meta"] = pandoc.MetaString(table.concat(author_names(meta), ", "))
  end
  if quarto ~= nil then
    local blocks = title_block_blocks(meta)
    blocks:extend(doc.blocks)
    doc.blocks = blocks
  end
  doc.meta = meta
  return doc
end
