-- Argo CD health of a KServe InferenceService (RawDeployment, OpenShift AI 3.0), shipped by gpuaas-generator.
-- Ready is the one condition that says whether a model serves; Stopped=False is always present and is not a
-- problem (Argo CD's own check before ed6fe769e6 counted it and reported Ready models as Progressing).
local hs = {status = "Progressing", message = "Waiting for KServe to report the InferenceService's status"}
local annotations = {}
if obj.metadata ~= nil and obj.metadata.annotations ~= nil then
  annotations = obj.metadata.annotations
end
local conditions = {}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    conditions[condition.type] = condition
  end
end

local function describe(condition)
  local text = condition.type .. "=" .. condition.status
  if condition.reason ~= nil and condition.reason ~= "" then
    text = text .. " (" .. condition.reason .. ")"
  end
  if condition.message ~= nil and condition.message ~= "" then
    text = text .. ": " .. condition.message
  end
  return text
end

-- Declared off: KServe removed the predictor, so there is nothing to wait for.
local stopped = conditions["Stopped"]
if (stopped ~= nil and stopped.status == "True") or annotations["serving.kserve.io/stop"] == "true" then
  hs.status = "Suspended"
  hs.message = "Stopped (serving.kserve.io/stop): no predictor pod, no GPU"
  return hs
end

-- A model that failed to load (storage initializer or vLLM exited) or a spec KServe refused.
if obj.status ~= nil and obj.status.modelStatus ~= nil then
  local model = obj.status.modelStatus
  local states = model.states or {}
  if model.transitionStatus == "BlockedByFailedLoad" or model.transitionStatus == "InvalidSpec"
      or states.targetModelState == "FailedToLoad" or states.activeModelState == "FailedToLoad" then
    hs.status = "Degraded"
    hs.message = "Model failed to load"
    local failure = model.lastFailureInfo
    if failure ~= nil then
      hs.message = hs.message .. ": " .. (failure.reason or "") .. " " .. (failure.message or "")
    end
    return hs
  end
end

local ready = conditions["Ready"]
if ready == nil then
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = "Ready"
  return hs
end
-- Not ready and not failed: the predictor pod waits. Under Kueue that is a gated pod waiting for quota or a node,
-- for as long as it takes; KServe carries the Deployment's reason, Kueue its own on the pod's Workload.
local predictor = conditions["PredictorReady"] or ready
hs.status = "Progressing"
hs.message = "Waiting for the predictor pod: " .. describe(predictor)
  .. "; if Kueue gates it (waiting for quota or a node), 'oc get workloads -n "
  .. (obj.metadata.namespace or "<namespace>") .. "' shows Kueue's reason"
return hs
