-- Loads one Ardour session headless (the "None (Dummy)" backend) and prints what Ardour itself
-- made of it, one tab-separated record a line, for tests/support/ardour.py to parse.
-- Usage: ardour7-lua ardour_inspect.lua SESSION_DIR SNAPSHOT_NAME
io.stdout:setvbuf("no")

local function clean(text)
  return (tostring(text):gsub("\\", "\\\\"):gsub("\t", "\\t"):gsub("\n", "\\n"))
end

local function emit(...)
  local fields = {}
  for i, value in ipairs({...}) do fields[i] = clean(value) end
  print(table.concat(fields, "\t"))
end

AudioEngine:set_backend("None (Dummy)", "", "")
local session = load_session(arg[1], arg[2])
if not session then
  emit("LOAD-FAILED", arg[1], arg[2])
  quit()
end
emit("SESSION", session:name(), session:nominal_sample_rate())

local tempo_map = Temporal.TempoMap.read()
-- Ardour's lookup at exactly a tempo point answers the tempo before it, so the tempo a region
-- plays at is asked for one sample into the region.
local function tempo_at(samples)
  local where = Temporal.timepos_t(samples + 1)
  local meter = tempo_map:meter_at(where)
  return tempo_map:quarters_per_minute_at(where), tempo_map:bbt_at(where):str(),
    meter:divisions_per_bar() .. "/" .. meter:note_value()
end

local group_of = {}
for group in session:route_groups():iter() do
  for member in group:route_list():iter() do group_of[member:name()] = group:name() end
end

for route in session:get_routes():iter() do
  local group_name = group_of[route:name()] or ""
  emit("ROUTE", route:name(), route:n_inputs():n_audio(), route:n_outputs():n_audio(),
    group_name, route:comment())
  local track = route:to_track()
  if not track:isnil() then
    for region in track:playlist():region_list():iter() do
      local position = region:position():samples()
      local bpm, _, meter = tempo_at(position)
      local bbt = tempo_map:bbt_at(Temporal.timepos_t(position)):str()
      local audio = region:to_audioregion()
      local midi = region:to_midiregion()
      local kind, extra, channels = "?", "", 1
      if not audio:isnil() then
        kind = "audio"
        channels = audio:n_channels()
        extra = audio:maximum_amplitude(nil)
      elseif not midi:isnil() then
        kind = "midi"
        local notes = 0
        for _ in ARDOUR.LuaAPI.note_list(midi:model()):iter() do notes = notes + 1 end
        extra = notes .. "|" .. midi:length():beats():str()
      end
      emit("REGION", route:name(), region:name(), kind, position, region:length():samples(),
        region:start():samples(), bpm, bbt, meter, extra)
      for index = 0, channels - 1 do
        local source = region:source(index)
        local file = source:to_filesource()
        local path = ""
        if not file:isnil() then path = file:path() end
        emit("SOURCE", route:name(), index, source:name(), path, source:length():samples())
      end
    end
  end
end

for location in session:locations():list():iter() do
  local flags = {}
  if location:is_session_range() then flags[#flags + 1] = "session" end
  if location:is_auto_loop() then flags[#flags + 1] = "loop" end
  if location:is_mark() then flags[#flags + 1] = "mark" end
  if location:is_range_marker() then flags[#flags + 1] = "range" end
  emit("LOCATION", location:name(), location:start():samples(), location:_end():samples(),
    table.concat(flags, ","))
end
emit("DONE")
close_session()
quit()
