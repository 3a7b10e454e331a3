"""Torch modules for the peer benchmarks, written to match torchvision's models layer for layer.

Benchmark code, not part of archcost (which never imports torch on its static path). No
torchvision build installs next to the CPU torch used here, so the models the peer counters
see are written out below from torchvision's model definitions (torchvision/models/resnet.py,
googlenet.py, vgg.py, mobilenetv2.py and ops/misc.py, v0.28): the same module classes
(nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.ReLU6, nn.MaxPool2d, nn.AdaptiveAvgPool2d,
nn.Dropout, nn.Linear), nested the same way, called the same way in ``forward`` (module or
functional: torchvision's GoogLeNet calls ``F.relu``, MobileNetV2 calls
``F.adaptive_avg_pool2d`` and adds with ``+``, ResNet adds with ``+=``), with the same weight
initialisation, because that is what decides what each peer counts. ``check_models.py``
compares them with a real torchvision where one can be imported.

Also here: MobileNet v1 (not in torchvision) and the deep residual stack of
``make_deep_spec.py``, each following the archcost spec of the same name.

``build(name)`` returns a model in eval mode; ``NAMES`` lists what it knows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------- ResNet (resnet.py)


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                     groups=groups, bias=False, dilation=dilation)  # fmt: skip


def conv1x1(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None):  # fmt: skip
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)  # one module, called twice
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class Bottleneck(nn.Module):
    expansion = 4  # torchvision's "v1.5": the stride is on the 3x3 conv

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None):  # fmt: skip
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)  # one module, called three times
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000, groups=1, width_per_group=64):
        super().__init__()
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = 64
        self.dilation = 1
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       self._norm_layer(planes * block.expansion))  # fmt: skip
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width,
                        self.dilation, self._norm_layer)]  # fmt: skip
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups,
                                base_width=self.base_width, dilation=self.dilation,
                                norm_layer=self._norm_layer))  # fmt: skip
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


def resnet18():
    return ResNet(BasicBlock, [2, 2, 2, 2])


def resnet34():
    return ResNet(BasicBlock, [3, 4, 6, 3])


def resnet50():
    return ResNet(Bottleneck, [3, 4, 6, 3])


def resnet101():
    return ResNet(Bottleneck, [3, 4, 23, 3])


def resnext50_32x4d():
    return ResNet(Bottleneck, [3, 4, 6, 3], groups=32, width_per_group=4)


# ---------------------------------------------------------------- GoogLeNet (googlenet.py)


class BasicConv2d(nn.Module):
    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)  # functional, not a module


class Inception(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))  # fmt: skip
        # torchvision keeps kernel_size=3 in the "5x5" branch (its issue #906)
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))  # fmt: skip
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, kernel_size=1),
        )

    def forward(self, x):
        outputs = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return torch.cat(outputs, 1)


class InceptionAux(nn.Module):
    def __init__(self, in_channels, num_classes, dropout=0.7):
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(x, (4, 4))
        x = torch.flatten(self.conv(x), 1)
        x = F.relu(self.fc1(x), inplace=True)
        return self.fc2(self.dropout(x))


class GoogLeNet(nn.Module):
    """torchvision.models.GoogLeNet. ``aux_logits=False`` is the model torchvision publishes
    (6,624,904 params, as with its ImageNet weights); its constructor's default, True, adds
    the two auxiliary classifiers' 6,379,984 params (they run only in training)."""

    def __init__(self, num_classes=1000, aux_logits=False, transform_input=False, dropout=0.2,
                 dropout_aux=0.7):  # fmt: skip
        super().__init__()
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, dropout=dropout_aux)
            self.aux2 = InceptionAux(528, num_classes, dropout=dropout_aux)
        else:
            self.aux1 = None
            self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                torch.nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = torch.flatten(self.avgpool(x), 1)
        x = self.fc(self.dropout(x))
        if self.training and self.aux_logits:
            return x, aux2, aux1
        return x


def googlenet():
    return GoogLeNet(aux_logits=False)


# ---------------------------------------------------------------- VGG (vgg.py)

VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
             512, 512, 512, "M"]  # fmt: skip


def make_layers(cfg, batch_norm=False):
    layers = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
            if batch_norm:
                layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            else:
                layers += [conv2d, nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    def __init__(self, features, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )  # fmt: skip
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def vgg16():
    return VGG(make_layers(VGG16_CFG))


def vgg11():
    return VGG(make_layers([64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]))


# ---------------------------------------------------------------- AlexNet (alexnet.py)


class AlexNet(nn.Module):
    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )  # fmt: skip
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )  # fmt: skip

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def alexnet():
    return AlexNet()


# ---------------------------------------------------------------- SqueezeNet 1.1 (squeezenet.py)


class Fire(nn.Module):
    def __init__(self, inplanes, squeeze_planes, expand1x1_planes, expand3x3_planes):
        super().__init__()
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)  # fmt: skip


class SqueezeNet11(nn.Module):
    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()
        pool = lambda: nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)  # noqa: E731
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=3, stride=2), nn.ReLU(inplace=True), pool(),
            Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), pool(),
            Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), pool(),
            Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256),
            Fire(512, 64, 256, 256),
        )  # fmt: skip
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Conv2d(512, num_classes, kernel_size=1),
            nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1)),
        )  # fmt: skip

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


def squeezenet1_1():
    return SqueezeNet11()


# ---------------------------------------------------------------- MobileNetV2 (mobilenetv2.py)


def _make_divisible(v, divisor, min_value=None):
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class Conv2dNormActivation(nn.Sequential):
    """torchvision.ops.misc.Conv2dNormActivation: conv (bias only without a norm), norm, act."""

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None,
                 groups=1, norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU, dilation=1,
                 inplace=True, bias=None):  # fmt: skip
        if padding is None:
            padding = (kernel_size - 1) // 2 * dilation
        if bias is None:
            bias = norm_layer is None
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                            dilation=dilation, groups=groups, bias=bias)]  # fmt: skip
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer(**({} if inplace is None else {"inplace": inplace})))
        super().__init__(*layers)
        self.out_channels = out_channels


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, expand_ratio, norm_layer=None):
        super().__init__()
        self.stride = stride
        norm_layer = norm_layer or nn.BatchNorm2d
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = self.stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(inp, hidden_dim, kernel_size=1,
                                               norm_layer=norm_layer,
                                               activation_layer=nn.ReLU6))  # fmt: skip
        layers.extend([
            Conv2dNormActivation(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim,
                                 norm_layer=norm_layer, activation_layer=nn.ReLU6),
            nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
            norm_layer(oup),
        ])  # fmt: skip
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup
        self._is_cn = stride > 1

    def forward(self, x):
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes=1000, width_mult=1.0, round_nearest=8, dropout=0.2):
        super().__init__()
        input_channel = 32
        last_channel = 1280
        setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1],
                   [6, 160, 3, 2], [6, 320, 1, 1]]  # fmt: skip
        input_channel = _make_divisible(input_channel * width_mult, round_nearest)
        self.last_channel = _make_divisible(last_channel * max(1.0, width_mult), round_nearest)
        features = [Conv2dNormActivation(3, input_channel, stride=2, norm_layer=nn.BatchNorm2d,
                                         activation_layer=nn.ReLU6)]  # fmt: skip
        for t, c, n, s in setting:
            output_channel = _make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                stride = s if i == 0 else 1
                features.append(InvertedResidual(input_channel, output_channel, stride,
                                                 expand_ratio=t, norm_layer=nn.BatchNorm2d))  # fmt: skip
                input_channel = output_channel
        features.append(Conv2dNormActivation(input_channel, self.last_channel, kernel_size=1,
                                             norm_layer=nn.BatchNorm2d,
                                             activation_layer=nn.ReLU6))  # fmt: skip
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout),
                                        nn.Linear(self.last_channel, num_classes))  # fmt: skip
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))  # functional, not a module
        x = torch.flatten(x, 1)
        return self.classifier(x)


def mobilenet_v2():
    return MobileNetV2()


# ---------------------------------------------------------------- MobileNet v1 (archcost spec)


def _conv_bn_relu(inp, oup, k, s, groups=1):
    return nn.Sequential(nn.Conv2d(inp, oup, k, s, (k - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(oup), nn.ReLU(inplace=True))  # fmt: skip


class MobileNetV1(nn.Module):
    """specs/mobilenet.yaml at alpha 1: 3x3/2 conv 32, 13 depthwise-separable pairs (BN and
    ReLU after every conv, no conv bias), global average pool, fc 1000 with bias, softmax."""

    CFG = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
           (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]  # fmt: skip

    def __init__(self, num_classes=1000):
        super().__init__()
        layers = [_conv_bn_relu(3, 32, 3, 2)]
        inp = 32
        for out, s in self.CFG:
            layers += [_conv_bn_relu(inp, inp, 3, s, groups=inp), _conv_bn_relu(inp, out, 1, 1)]
            inp = out
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(1024, num_classes)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.softmax(self.fc(x))


def mobilenet():
    return MobileNetV1()


# ---------------------------------------------------------------- deep stack (make_deep_spec)


class DeepUnit(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv_a = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn_a = nn.BatchNorm2d(c)
        self.relu_a = nn.ReLU(inplace=True)
        self.conv_b = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn_b = nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.bn_b(self.conv_b(self.relu_a(self.bn_a(self.conv_a(x)))))
        return self.relu(out + x)


class DeepStack(nn.Module):
    """benchmarks/make_deep_spec.py's network: ``units`` residual units on a C x 8 x 8 map."""

    def __init__(self, units, width=16, num_classes=10):
        super().__init__()
        self.stage = nn.Sequential(*[DeepUnit(width) for _ in range(units)])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.stage(x)), 1))


# ---------------------------------------------------------------- ViT (vision_transformer.py)


class MLPBlock(nn.Sequential):
    def __init__(self, dim, mlp_dim, dropout=0.0):
        super().__init__(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Dropout(dropout),
                         nn.Linear(mlp_dim, dim), nn.Dropout(dropout))  # fmt: skip


class EncoderBlock(nn.Module):
    def __init__(self, heads, dim, mlp_dim):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(dim, heads, dropout=0.0, batch_first=True)
        self.dropout = nn.Dropout(0.0)
        self.ln_2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MLPBlock(dim, mlp_dim)

    def forward(self, x):
        y = self.ln_1(x)
        y, _ = self.self_attention(y, y, y, need_weights=False)
        y = self.dropout(y)
        x = x + y
        return x + self.mlp(self.ln_2(x))


class VisionTransformer(nn.Module):
    """torchvision's VisionTransformer: conv patch embedding, class token, learned position
    embedding, pre-norm encoder blocks (nn.MultiheadAttention, batch first), final LayerNorm,
    a linear head on the class token."""

    def __init__(self, image=224, patch=16, layers=12, heads=12, dim=768, mlp_dim=3072,
                 num_classes=1000):  # fmt: skip
        super().__init__()
        self.patch, self.dim = patch, dim
        self.conv_proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)
        seq = (image // patch) ** 2 + 1
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.empty(1, seq, dim).normal_(std=0.02))
        self.dropout = nn.Dropout(0.0)
        self.layers = nn.Sequential(*[EncoderBlock(heads, dim, mlp_dim) for _ in range(layers)])
        self.ln = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):
        n = x.shape[0]
        x = self.conv_proj(x).reshape(n, self.dim, -1).permute(0, 2, 1)
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
        x = self.ln(self.layers(self.dropout(x + self.pos_embedding)))
        return self.head(x[:, 0])


def vit_b_16():
    return VisionTransformer()


# ---------------------------------------------------------------- Swin-T (swin_transformer.py, v1)


def _merge_2x2(x):
    """PatchMerging's gather: pad H and W to even, take the four 2 x 2 neighbours, concat."""
    h, w = x.shape[-3], x.shape[-2]
    x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
    return torch.cat([x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :],
                      x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]], -1)  # fmt: skip


class PatchMerging(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x):
        return self.reduction(self.norm(_merge_2x2(x)))


def _window_attention(x, qkv_w, proj_w, rel_bias, win, heads, shift, qkv_b, proj_b):
    """torchvision's shifted_window_attention (v1): pad to whole windows, cyclic shift,
    F.linear on the qkv weight, q.matmul(k^T) + relative position bias (+ the shift mask),
    F.softmax, attn.matmul(v), F.linear on the proj weight, shift back, crop."""
    b, h, w, c = x.shape
    x = F.pad(x, (0, 0, 0, (win - w % win) % win, 0, (win - h % win) % win))
    _, ph, pw, _ = x.shape
    sh = 0 if win >= ph else shift
    sw = 0 if win >= pw else shift
    if sh or sw:
        x = torch.roll(x, shifts=(-sh, -sw), dims=(1, 2))
    nwin = (ph // win) * (pw // win)
    x = x.view(b, ph // win, win, pw // win, win, c).permute(0, 1, 3, 2, 4, 5)
    x = x.reshape(b * nwin, win * win, c)
    qkv = F.linear(x, qkv_w, qkv_b).reshape(x.size(0), x.size(1), 3, heads, c // heads)
    q, k, v = qkv.permute(2, 0, 3, 1, 4)
    q = q * (c // heads) ** -0.5
    attn = q.matmul(k.transpose(-2, -1))
    attn = attn + rel_bias
    if sh or sw:
        mask = x.new_zeros((ph, pw))
        count = 0
        for hs in ((0, -win), (-win, -sh), (-sh, None)):
            for ws in ((0, -win), (-win, -sw), (-sw, None)):
                mask[hs[0]:hs[1], ws[0]:ws[1]] = count
                count += 1
        mask = mask.view(ph // win, win, pw // win, win).permute(0, 2, 1, 3)
        mask = mask.reshape(nwin, win * win)
        mask = mask.unsqueeze(1) - mask.unsqueeze(2)
        mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
        attn = attn.view(x.size(0) // nwin, nwin, heads, x.size(1), x.size(1))
        attn = (attn + mask.unsqueeze(1).unsqueeze(0)).view(-1, heads, x.size(1), x.size(1))
    attn = F.softmax(attn, dim=-1)
    x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), c)
    x = F.linear(x, proj_w, proj_b)
    x = x.view(b, ph // win, pw // win, win, win, c).permute(0, 1, 3, 2, 4, 5)
    x = x.reshape(b, ph, pw, c)
    if sh or sw:
        x = torch.roll(x, shifts=(sh, sw), dims=(1, 2))
    return x[:, :h, :w, :].contiguous()


class ShiftedWindowAttention(nn.Module):
    def __init__(self, dim, win, shift, heads):
        super().__init__()
        self.win, self.shift, self.heads = win, shift, heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * win - 1) * (2 * win - 1), heads))
        coords = torch.stack(torch.meshgrid(torch.arange(win), torch.arange(win),
                                            indexing="ij")).flatten(1)  # fmt: skip
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
        rel[:, :, 0] += win - 1
        rel[:, :, 1] += win - 1
        rel[:, :, 0] *= 2 * win - 1
        self.register_buffer("relative_position_index", rel.sum(-1).flatten())

    def forward(self, x):
        n = self.win * self.win
        bias = self.relative_position_bias_table[self.relative_position_index]
        bias = bias.view(n, n, -1).permute(2, 0, 1).contiguous().unsqueeze(0)
        return _window_attention(x, self.qkv.weight, self.proj.weight, bias, self.win,
                                 self.heads, self.shift, self.qkv.bias, self.proj.bias)


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth: the identity in eval mode."""

    def forward(self, x):
        return x


class SwinBlock(nn.Module):
    def __init__(self, dim, heads, win, shift):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = ShiftedWindowAttention(dim, win, shift, heads)
        self.stochastic_depth = StochasticDepth()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(0.0),
                                 nn.Linear(4 * dim, dim), nn.Dropout(0.0))  # fmt: skip

    def forward(self, x):
        x = x + self.stochastic_depth(self.attn(self.norm1(x)))
        return x + self.stochastic_depth(self.mlp(self.norm2(x)))


class Permute(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return torch.permute(x, self.dims)


class SwinTransformer(nn.Module):
    """torchvision's SwinTransformer (v1): 4 x 4 patch conv, channels last, LayerNorm; four
    stages of blocks alternating shift 0 and window // 2, PatchMerging between them; LayerNorm,
    back to channels first, AdaptiveAvgPool2d(1), flatten, linear head."""

    def __init__(self, embed=96, depths=(2, 2, 6, 2), heads=(3, 6, 12, 24), win=7,
                 num_classes=1000):  # fmt: skip
        super().__init__()
        layers = [nn.Sequential(nn.Conv2d(3, embed, 4, 4), Permute([0, 2, 3, 1]),
                                nn.LayerNorm(embed))]  # fmt: skip
        for i, (depth, h) in enumerate(zip(depths, heads, strict=True)):
            dim = embed * 2**i
            layers.append(nn.Sequential(*[SwinBlock(dim, h, win, 0 if j % 2 == 0 else win // 2)
                                          for j in range(depth)]))  # fmt: skip
            if i < len(depths) - 1:
                layers.append(PatchMerging(dim))
        self.features = nn.Sequential(*layers)
        features = embed * 2 ** (len(depths) - 1)
        self.norm = nn.LayerNorm(features)
        self.permute = Permute([0, 3, 1, 2])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.head = nn.Linear(features, num_classes)

    def forward(self, x):
        x = self.permute(self.norm(self.features(x)))
        return self.head(self.flatten(self.avgpool(x)))


def swin_t():
    return SwinTransformer()


# ---------------------------------------------------------------- GPT-2 (124M), nn.MHA


class GPTBlock(nn.Module):
    """Pre-norm decoder block as GPT-2 computes it (LN, causal self-attention, add; LN, MLP
    4D with tanh GELU, add), the attention written with nn.MultiheadAttention (as
    nn.TransformerEncoderLayer and torchvision's ViT call it) rather than HF's Conv1D."""

    def __init__(self, dim, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim, eps=1e-5)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(dim, eps=1e-5)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(approximate="tanh"),
                                 nn.Linear(4 * dim, dim), nn.Dropout(0.0))  # fmt: skip

    def forward(self, x):
        n = x.shape[1]
        mask = torch.triu(torch.ones(n, n, dtype=torch.bool), 1)
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, attn_mask=mask, need_weights=False, is_causal=True)[0]
        return x + self.mlp(self.ln_2(x))


class GPT2(nn.Module):
    """Token and position embeddings, blocks, final LayerNorm, an output head tied to the
    token embedding. The input is the token ids' shape: a float tensor of length L, read as
    L ids (the peers feed float inputs; ids do not change any count)."""

    def __init__(self, vocab=50257, n_ctx=1024, layers=12, dim=768, heads=12):
        super().__init__()
        self.wte = nn.Embedding(vocab, dim)
        self.wpe = nn.Embedding(n_ctx, dim)
        self.drop = nn.Dropout(0.0)
        self.h = nn.Sequential(*[GPTBlock(dim, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(dim, eps=1e-5)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, x):
        ids = torch.zeros_like(x, dtype=torch.long)
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.drop(self.wte(ids) + self.wpe(pos))
        return self.lm_head(self.ln_f(self.h(x)))


def gpt2():
    return GPT2()


# ---------------------------------------------------------------- ConvNeXt-T (convnext.py)


class LayerNorm2d(nn.LayerNorm):
    """torchvision's LayerNorm2d: a layer norm over the channels of an NCHW map."""

    def forward(self, x):
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                         self.eps)  # fmt: skip
        return x.permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]), nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, 4 * dim),
            nn.GELU(), nn.Linear(4 * dim, dim), Permute([0, 3, 1, 2]))  # fmt: skip
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * 1e-6)
        self.stochastic_depth = StochasticDepth()

    def forward(self, x):
        result = self.stochastic_depth(self.layer_scale * self.block(x))
        result += x
        return result


class ConvNeXt(nn.Module):
    """torchvision's ConvNeXt: 4 x 4 stem conv + LayerNorm2d; stages of CNBlocks with
    LayerNorm2d + 2 x 2 stride-2 conv between them; AdaptiveAvgPool2d(1); LayerNorm2d,
    flatten, linear."""

    def __init__(self, dims=(96, 192, 384, 768), depths=(3, 3, 9, 3), num_classes=1000):
        super().__init__()
        layers = [nn.Sequential(nn.Conv2d(3, dims[0], 4, 4), LayerNorm2d(dims[0], eps=1e-6))]
        for i, (dim, depth) in enumerate(zip(dims, depths, strict=True)):
            layers.append(nn.Sequential(*[CNBlock(dim) for _ in range(depth)]))
            if i < len(dims) - 1:
                layers.append(nn.Sequential(LayerNorm2d(dim, eps=1e-6),
                                            nn.Conv2d(dim, dims[i + 1], 2, 2)))  # fmt: skip
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(LayerNorm2d(dims[-1], eps=1e-6), nn.Flatten(1),
                                        nn.Linear(dims[-1], num_classes))  # fmt: skip

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)))


def convnext_tiny():
    return ConvNeXt()


# ---------------------------------------------------------------- EfficientNet-B0 (efficientnet.py)


def _conv_norm_act(cin, cout, k, s=1, groups=1, act=True):
    """torchvision's Conv2dNormActivation with BatchNorm2d (eps 1e-3) and SiLU."""
    layers = [nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout, eps=1e-3)]  # fmt: skip
    if act:
        layers.append(nn.SiLU(inplace=True))
    return nn.Sequential(*layers)


class SqueezeExcitation(nn.Module):
    def __init__(self, channels, squeeze):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = nn.SiLU()
        self.scale_activation = nn.Sigmoid()

    def forward(self, x):
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


class MBConv(nn.Module):
    def __init__(self, t, k, s, cin, cout):
        super().__init__()
        self.use_res_connect = s == 1 and cin == cout
        mid = _make_divisible(cin * t, 8)
        layers = [] if mid == cin else [_conv_norm_act(cin, mid, 1)]
        layers += [_conv_norm_act(mid, mid, k, s, groups=mid),
                   SqueezeExcitation(mid, max(1, cin // 4)),
                   _conv_norm_act(mid, cout, 1, act=False)]  # fmt: skip
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth()

    def forward(self, x):
        result = self.block(x)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += x
        return result


class EfficientNet(nn.Module):
    """torchvision's EfficientNet-B0: stem conv 3x3/2, seven MBConv stages (expand ratio,
    kernel, stride, in, out, layers), conv 1x1 to 1280, AdaptiveAvgPool2d(1), dropout,
    linear."""

    STAGES = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
              (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
              (6, 3, 1, 192, 320, 1))  # fmt: skip

    def __init__(self, num_classes=1000):
        super().__init__()
        layers = [_conv_norm_act(3, 32, 3, 2)]
        for t, k, s, cin, cout, n in self.STAGES:
            layers.append(nn.Sequential(*[MBConv(t, k, s if i == 0 else 1, cin if i == 0
                                                 else cout, cout) for i in range(n)]))  # fmt: skip
        layers.append(_conv_norm_act(320, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def efficientnet_b0():
    return EfficientNet()


# ---------------------------------------------------------------- M5 and a deep bidirectional LSTM


class M5(nn.Module):
    """M5 (Dai et al. 2017) on 32,000 samples: conv1d 80/4 (padding 38: 8,000 outputs, as
    TF's SAME), then three conv1d 3 (padding 1), each with BatchNorm1d, ReLU, MaxPool1d(4);
    AdaptiveAvgPool1d(1), flatten, linear, softmax."""

    def __init__(self, width=128, classes=10):
        super().__init__()
        chans = (1, width, width, 2 * width, 4 * width)
        layers = []
        for i in range(4):
            k, s, p = (80, 4, 38) if i == 0 else (3, 1, 1)
            layers += [nn.Conv1d(chans[i], chans[i + 1], k, s, p), nn.BatchNorm1d(chans[i + 1]),
                       nn.ReLU(), nn.MaxPool1d(4)]  # fmt: skip
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(4 * width, classes)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        return self.softmax(self.fc(torch.flatten(self.pool(self.features(x)), 1)))


class LSTMClassifier(nn.Module):
    """Graves et al. 2013's CTC-3L-250H: a 3-layer bidirectional nn.LSTM (250 hidden) over
    300 steps of 123 features, a linear output layer per step, softmax over the classes."""

    def __init__(self, features=123, hidden=250, layers=3, classes=62):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, layers, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, classes)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x):
        return self.softmax(self.fc(self.lstm(x)[0]))


# ---------------------------------------------------------------- registry

BUILDERS = {
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "resnet101": resnet101,
    "resnext50_32x4d": resnext50_32x4d,
    "vgg11": vgg11,
    "alexnet": alexnet,
    "squeezenet1_1": squeezenet1_1,
    "googlenet": googlenet,
    "vgg16": vgg16,
    "mobilenet_v2": mobilenet_v2,
    "mobilenet": mobilenet,
    "vit_b_16": vit_b_16,
}
NAMES = tuple(BUILDERS)
INPUT = {name: (3, 224, 224) for name in NAMES}
# models only the peer comparison builds (benchmarks/peers.py), kept out of NAMES (which the
# importer's round-trip tests walk; Swin's F.linear windows, GPT-2's token ids)
PEER_ONLY = {"swin_t": swin_t, "gpt2": gpt2, "convnext_tiny": convnext_tiny,
             "efficientnet_b0": efficientnet_b0, "m5": M5, "lstm_classifier": LSTMClassifier}
INPUT.update({name: (3, 224, 224) for name in PEER_ONLY}, gpt2=(1024,),  # gpt2: token ids
             m5=(1, 32000), lstm_classifier=(300, 123))  # fmt: skip


def build(name: str) -> nn.Module:
    """A model by torchvision's function name (``resnet50``), in eval mode."""
    return BUILDERS[name]().eval()


def deep(units: int, width: int = 16) -> nn.Module:
    return DeepStack(units, width).eval()
