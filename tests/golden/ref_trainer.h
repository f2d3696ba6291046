// Reference trainer: work in progress (issue 4).
#pragma once
