-- Argo CD health of a batch Job, shipped by gpuaas-generator. Argo CD's built-in check counts any Suspended
-- condition as complete: Kueue creates a queued Job suspended and resumes it once admitted, leaving Suspended=False,
-- so a running upload Job looked Healthy and the sync went on to the models before their weights were uploaded.
-- Here only Complete or Failed ends a Job; a Job Kueue holds is Progressing, so the wave waits for its admission.
local hs = {status = "Progressing", message = "Waiting for the Job to complete"}
local labels = {}
if obj.metadata ~= nil and obj.metadata.labels ~= nil then
  labels = obj.metadata.labels
end
local queued = labels["kueue.x-k8s.io/queue-name"] ~= nil
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.status == "True" then
      if condition.type == "Failed" then
        hs.status = "Degraded"
        hs.message = condition.message or "Failed"
        return hs
      elseif condition.type == "Complete" then
        hs.status = "Healthy"
        hs.message = condition.message or "Complete"
      elseif condition.type == "Suspended" then
        if queued then
          hs.message = "Waiting for Kueue to admit the Job (" .. (labels["kueue.x-k8s.io/queue-name"]) .. ")"
        else
          hs.status = "Suspended"
          hs.message = condition.message or "Suspended"
        end
      end
    end
  end
end
return hs
