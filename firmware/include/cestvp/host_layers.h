// Host layers (firmware layer 4): work in progress (issue 4).
#pragma once
